"""The local Hub server against the real huggingface_hub client over loopback HTTP."""

from __future__ import annotations

import http.client
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from limr_kit.errors import ConfigError, HubError
from limr_kit.hub.server import HubServer


TOOLKIT = Path(__file__).resolve().parents[1] / "toolkit"
TOKEN = "hf_" + "T" * 34


@pytest.fixture
def hf(monkeypatch):
    """huggingface_hub with Xet off (read at call time), talking to whatever endpoint a test passes."""
    import huggingface_hub
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    return huggingface_hub


@pytest.fixture
def hub(tmp_path):
    with HubServer(tmp_path / "root", port=0) as server:
        yield server


def _api(hf, server, token=TOKEN):
    return hf.HfApi(endpoint=server.url, token=token)


def _checkpoint(folder: Path, weights: bytes) -> Path:
    (folder / "sub").mkdir(parents=True)
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# tiny\n")
    (folder / "config.json").write_text('{"model_type": "qwen2"}')
    (folder / "sub" / "notes.txt").write_text("notes")
    (folder / "model.safetensors").write_bytes(weights)
    return folder


def _http(server, method, path, body=None, headers=None):
    """(status, headers, body) of one raw request."""
    request = urllib.request.Request(server.url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_upload_folder_snapshot_download_round_trip(hf, hub, tmp_path):
    api = _api(hf, hub)
    weights = os.urandom(2 << 20)
    folder = _checkpoint(tmp_path / "ckpt", weights)
    api.create_repo("org/tiny")
    api.create_repo("org/tiny", exist_ok=True)  # 409 with the url: accepted
    commit = api.upload_folder(repo_id="org/tiny", folder_path=folder, commit_message="add checkpoint")

    tree = {entry.path: entry for entry in api.list_repo_tree("org/tiny", recursive=True)}
    assert set(tree) == {".gitattributes", "README.md", "config.json", "sub", "sub/notes.txt", "model.safetensors"}
    assert tree["model.safetensors"].lfs.sha256 == __import__("hashlib").sha256(weights).hexdigest()
    assert tree["config.json"].lfs is None
    snapshot = Path(hf.snapshot_download("org/tiny", endpoint=hub.url, token=TOKEN, cache_dir=tmp_path / "cache"))
    assert snapshot.name == commit.oid
    assert (snapshot / "model.safetensors").read_bytes() == weights
    assert (snapshot / "sub" / "notes.txt").read_text() == "notes"
    assert [c.title for c in api.list_repo_commits("org/tiny")] == ["add checkpoint", "initial commit"]


def test_stale_parent_commit_is_refused_with_412(hf, hub):
    api = _api(hf, hub)
    api.create_repo("org/data", repo_type="dataset")
    first = api.repo_info("org/data", repo_type="dataset").sha
    add = hf.CommitOperationAdd
    api.create_commit("org/data", [add("a.txt", b"a")], commit_message="a", repo_type="dataset", parent_commit=first)
    with pytest.raises(hf.errors.HfHubHTTPError) as refused:
        api.create_commit(
            "org/data", [add("b.txt", b"b")], commit_message="b", repo_type="dataset", parent_commit=first
        )
    assert refused.value.response.status_code == 412
    assert "b.txt" not in api.list_repo_files("org/data", repo_type="dataset")


def test_concurrent_commits_all_land_with_a_linear_history(hf, hub):
    """8 clients commit 5 times each at once (LFS and regular files): every commit lands, one after another."""
    api = _api(hf, hub)
    api.create_repo("org/busy")

    def client(number: int) -> None:
        for round_ in range(5):
            add = hf.CommitOperationAdd
            operations = [add(f"c{number}/r{round_}.txt", b"x"), add(f"c{number}/r{round_}.bin", os.urandom(4096))]
            api.create_commit("org/busy", operations, commit_message=f"c{number} r{round_}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(client, range(8)))
    commits = api.list_repo_commits("org/busy")
    assert len(commits) == 41 and len({c.commit_id for c in commits}) == 41
    rdir = hub.root / "repos" / "models" / "org" / "busy" / "commits"
    for newer, older in zip(commits, commits[1:], strict=False):  # newest first: one parent, the next commit
        assert json.loads((rdir / f"{newer.commit_id}.json").read_text())["parents"] == [older.commit_id]
    assert len(api.list_repo_files("org/busy")) == 1 + 8 * 5 * 2


def test_branches_tags_and_refs(hf, hub, tmp_path):
    api = _api(hf, hub)
    api.create_repo("org/tiny")
    api.create_branch("org/tiny", branch="step-300")
    info = api.upload_file(path_or_fileobj=b"v300", path_in_repo="step.txt", repo_id="org/tiny", revision="step-300")
    api.create_tag("org/tiny", tag="v1.0", revision=info.oid)
    with pytest.raises(hf.errors.HfHubHTTPError) as again:
        api.create_tag("org/tiny", tag="v1.0", revision=info.oid)
    assert again.value.response.status_code == 409

    refs = api.list_repo_refs("org/tiny")
    assert {b.name for b in refs.branches} == {"main", "step-300"}
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v1.0", info.oid)]
    path = hf.hf_hub_download("org/tiny", "step.txt", revision="v1.0", endpoint=hub.url, cache_dir=tmp_path / "c")
    assert Path(path).read_text() == "v300"
    assert "step.txt" not in api.list_repo_files("org/tiny")  # main did not move
    api.delete_tag("org/tiny", tag="v1.0")
    assert api.list_repo_refs("org/tiny").tags == []


def test_resolve_headers_ranges_and_missing_files(hf, hub, tmp_path):
    api = _api(hf, hub)
    weights = bytes(range(256)) * 64
    api.create_repo("org/tiny")
    commit = api.upload_folder(repo_id="org/tiny", folder_path=_checkpoint(tmp_path / "ckpt", weights))

    status, headers, body = _http(hub, "HEAD", "/org/tiny/resolve/main/model.safetensors")
    assert status == 200 and body == b""
    assert headers["X-Repo-Commit"] == commit.oid
    assert headers["X-Linked-Size"] == str(len(weights)) == headers["Content-Length"]
    assert headers["X-Linked-Etag"].strip('"') == __import__("hashlib").sha256(weights).hexdigest()
    status, headers, body = _http(
        hub, "GET", "/org/tiny/resolve/main/model.safetensors", headers={"Range": "bytes=10-19"}
    )
    assert (status, body, headers["Content-Range"]) == (206, weights[10:20], f"bytes 10-19/{len(weights)}")
    status, headers, _ = _http(
        hub, "GET", "/org/tiny/resolve/main/model.safetensors", headers={"Range": "bytes=99999-"}
    )
    assert (status, headers["Content-Range"]) == (416, f"bytes */{len(weights)}")
    status, headers, _ = _http(hub, "HEAD", "/org/tiny/resolve/main/nope.bin")
    assert (status, headers["X-Error-Code"], headers["X-Repo-Commit"]) == (404, "EntryNotFound", commit.oid)
    status, headers, _ = _http(hub, "GET", "/api/models/org/tiny/revision/nope")
    assert (status, headers["X-Error-Code"]) == (404, "RevisionNotFound")
    status, headers, _ = _http(hub, "GET", "/api/datasets/org/tiny")
    assert (status, headers["X-Error-Code"]) == (404, "RepoNotFound")


def test_error_answers_keep_the_connection_usable(hub):
    """An unread body on an error route is drained, so the next request on the connection parses."""
    connection = http.client.HTTPConnection("127.0.0.1", int(hub.url.rsplit(":", 1)[1]))
    connection.request("POST", "/api/no-such-route", body=b'{"content": "---\\nx: 1\\n---\\n"}')
    first = connection.getresponse()
    assert first.status == 404 and json.loads(first.read())["error"].startswith("No endpoint")
    connection.request("POST", "/api/validate-yaml", body=json.dumps({"content": "---\nlicense: mit\n---\n"}))
    second = connection.getresponse()
    assert (second.status, json.loads(second.read())) == (200, {"errors": [], "warnings": []})
    connection.request("POST", "/api/validate-yaml", body=json.dumps({"content": "---\nlicense: mit\n"}))
    assert connection.getresponse().status == 400
    connection.close()


def test_token_file_guards_writes_and_private_repos(hf, tmp_path, caplog):
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# writers\n{TOKEN}\n")
    caplog.set_level(logging.DEBUG, logger="limr_kit.hub.server")
    with HubServer(tmp_path / "root", port=0, token_file=tokens) as server:
        for token in ("hf_" + "W" * 34, False):
            with pytest.raises(hf.errors.HfHubHTTPError) as refused:
                hf.HfApi(endpoint=server.url, token=token).create_repo("org/secret", private=True)
            assert refused.value.response.status_code == 401
        assert list((tmp_path / "root" / "repos").iterdir()) == []  # nothing written

        api = _api(hf, server)
        api.create_repo("org/secret", private=True)
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="org/secret")
        assert api.repo_info("org/secret").private is True
        with pytest.raises(hf.errors.RepositoryNotFoundError):
            hf.HfApi(endpoint=server.url, token=False).repo_info("org/secret")
        assert api.whoami()["name"] == "local"
    assert caplog.records, "the server logs requests at DEBUG"
    assert TOKEN not in caplog.text and "W" * 34 not in caplog.text


def test_bad_token_file_and_busy_port_are_clear_errors(tmp_path, hub):
    (tmp_path / "empty").write_text("# no tokens\n\n")
    with pytest.raises(ConfigError, match="no token"):
        HubServer(tmp_path / "root2", port=0, token_file=tmp_path / "empty")
    with pytest.raises(ConfigError, match="cannot read"):
        HubServer(tmp_path / "root2", port=0, token_file=tmp_path / "missing")
    with pytest.raises(HubError, match="Cannot listen"):
        HubServer(tmp_path / "root2", port=int(hub.url.rsplit(":", 1)[1]))


def _start_server_process(root: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TOOLKIT), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(
        [sys.executable, "-m", "limr_kit", "hub", "serve", "--root", str(root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    return process, url


def test_killed_mid_upload_then_restarted_keeps_the_previous_commit(hf, tmp_path):
    """`hub serve` killed while an LFS upload streams in: after a restart the repo is at its old commit."""
    root = tmp_path / "root"
    process, url = _start_server_process(root)
    try:
        api = hf.HfApi(endpoint=url, token=TOKEN)
        api.create_repo("org/tiny")
        before = api.upload_folder(repo_id="org/tiny", folder_path=_checkpoint(tmp_path / "v1", b"v1" * 4096)).oid

        # Start the upload of new weights the way the client does (LFS batch, then PUT), and cut it mid-body.
        weights = os.urandom(4 << 20)
        oid = __import__("hashlib").sha256(weights).hexdigest()
        batch = {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": len(weights)}]}
        request = urllib.request.Request(
            f"{url}/org/tiny.git/info/lfs/objects/batch", data=json.dumps(batch).encode(), method="POST"
        )
        with urllib.request.urlopen(request) as response:
            href = json.loads(response.read())["objects"][0]["actions"]["upload"]["href"]
        host, port = href.split("/")[2].split(":")
        upload = socket.create_connection((host, int(port)))
        head = (
            f"PUT /{href.split('/', 3)[3]} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(weights)}\r\n\r\n"
        )
        upload.sendall(head.encode() + weights[: len(weights) // 2])
        deadline = time.monotonic() + 30
        while not any(f.stat().st_size >= 1 << 20 for f in (root / "tmp").glob("tmp*")):
            assert time.monotonic() < deadline, "the server never started writing the upload"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
        upload.close()
    finally:
        process.kill()

    process, url = _start_server_process(root)
    try:
        api = hf.HfApi(endpoint=url, token=TOKEN)
        assert api.repo_info("org/tiny").sha == before
        assert list((root / "tmp").iterdir()) == []  # the partial upload was discarded
        assert not (root / "objects" / oid[:2] / oid).exists()
        snapshot = Path(hf.snapshot_download("org/tiny", endpoint=url, token=TOKEN, cache_dir=tmp_path / "cache"))
        assert (snapshot / "model.safetensors").read_bytes() == b"v1" * 4096
    finally:
        process.terminate()
        process.wait()


def test_hf_command_line_round_trip(hub, tmp_path):
    """The `hf` CLI of huggingface_hub: create, upload with an LFS file, tag, download at the tag, info."""
    weights = os.urandom(300_000)
    folder = _checkpoint(tmp_path / "up", weights)
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": TOKEN}
    env.update(HF_HOME=str(tmp_path / "home"), NO_COLOR="1")
    hf_cli = str(Path(sys.executable).with_name("hf"))

    def hf(*args):
        done = subprocess.run([hf_cli, *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    hf("repos", "create", "org/cli")
    hf("upload", "org/cli", str(folder), ".")
    hf("repos", "tag", "create", "org/cli", "v1")
    hf("upload", "org/cli", str(folder / "config.json"), "later.json")
    hf("download", "org/cli", "--revision", "v1", "--local-dir", str(tmp_path / "v1"))
    assert (tmp_path / "v1" / "model.safetensors").read_bytes() == weights
    assert (tmp_path / "v1" / "sub" / "notes.txt").read_text() == "notes"
    assert not (tmp_path / "v1" / "later.json").exists()  # added after the tag
    info = json.loads(hf("models", "info", "org/cli"))
    assert info["id"] == "org/cli" and "later.json" in {s["rfilename"] for s in info["siblings"]}
    assert TOKEN not in json.dumps(info)


@pytest.fixture(params=[True, False], ids=["o_direct", "page_cache"])
def direct_io(request, monkeypatch):
    """The hub's direct I/O module, as it runs where O_DIRECT works and where it does not."""
    from limr_kit.hub import direct

    if not request.param:
        monkeypatch.setattr(direct, "_set_direct", lambda fd, on: False)
    return direct


@pytest.mark.parametrize("sizes", [[], [1], [4096], [1 << 20], [(1 << 20) + 1], [3000] * 700, [5 << 19, 7, 1 << 21]])
def test_objects_written_past_the_page_cache_keep_every_byte(tmp_path, sizes, direct_io):
    pieces = [os.urandom(size) for size in sizes]
    path = tmp_path / "object"
    with direct_io.DirectFile(os.open(path, os.O_WRONLY | os.O_CREAT)) as handle:
        for piece in pieces:
            handle.write(piece)
        handle.sync()
    assert path.read_bytes() == b"".join(pieces)


@pytest.mark.parametrize(
    "offset, length", [(0, 3 << 20), (0, 0), (1, 10), (4095, 5000), (1 << 20, 1 << 20), (17, 9 << 20)]
)
def test_objects_read_past_the_page_cache_give_the_range_asked_for(tmp_path, offset, length, direct_io):
    path = tmp_path / "object"
    path.write_bytes(data := os.urandom((3 << 20) + 12345))
    pieces = list(direct_io.read_pieces(path, offset, length))
    assert b"".join(pieces) == data[offset : offset + length] and all(len(piece) <= 1 << 20 for piece in pieces)


def test_a_filesystem_that_takes_o_direct_but_refuses_its_io_falls_back_with_every_byte(tmp_path, monkeypatch):
    """Simulated (this disk honours O_DIRECT): some filesystems accept the flag, then answer EINVAL to the I/O."""
    import errno
    import fcntl

    from limr_kit.hub import direct

    def refuses_direct(call):
        def guarded(fd, *args):
            if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
                raise OSError(errno.EINVAL, "Invalid argument")
            return call(fd, *args)

        return guarded

    probe = os.open(tmp_path / "probe", os.O_WRONLY | os.O_CREAT)
    assert direct._set_direct(probe, True), "this disk takes O_DIRECT, so the refusal below is what is tested"
    os.close(probe)
    monkeypatch.setattr(direct.os, "write", refuses_direct(os.write))
    monkeypatch.setattr(direct.os, "preadv", refuses_direct(os.preadv))
    data = os.urandom((2 << 20) + 777)
    path = tmp_path / "object"
    with direct.DirectFile(os.open(path, os.O_WRONLY | os.O_CREAT)) as handle:
        handle.write(data)
        handle.sync()
    assert path.read_bytes() == data
    assert b"".join(direct.read_pieces(path, 4097, 1 << 21)) == data[4097 : 4097 + (1 << 21)]
