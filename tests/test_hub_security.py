"""The Hub server attacked the way an outsider would: raw HTTP over loopback, hostile bytes everywhere.

Every attack must get a 4xx answer (JSON error, safe headers), leave the server answering, change and
reveal nothing outside ``--root``, and keep the token out of the server's log.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import io
import json
import logging
import socket
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from limr_kit.errors import HubError
from limr_kit.hub.server import HubServer


TOKEN = "hf_" + "S" * 34
SECRET = b"TOP-SECRET-" + b"x" * 16
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_BODY = 1 << 20


class Target:
    """A running server with a repo in it, a secret and a fake repo planted outside its root."""

    def __init__(self, base: Path, server: HubServer, log: io.StringIO) -> None:
        self.base, self.server, self.log = base, server, log
        self.host, self.port = server.url.removeprefix("http://").rsplit(":", 1)

    def outside(self) -> dict[str, bytes]:
        return {
            str(path.relative_to(self.base)): path.read_bytes() if path.is_file() else b"<dir>"
            for path in sorted(self.base.rglob("*"))
            if not path.is_relative_to(self.base / "root")
        }

    def request(self, method, path, body=b"", headers=None):
        connection = http.client.HTTPConnection(self.host, int(self.port), timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def raw(self, data: bytes) -> bytes:
        """Send raw bytes; the whole answer up to the server closing or 2 s of quiet."""
        with socket.create_connection((self.host, int(self.port)), timeout=2) as sock:
            sock.sendall(data)
            answer = b""
            try:
                while chunk := sock.recv(65536):
                    answer += chunk
                    if b"\r\n\r\n" in answer and _complete(answer):
                        break
            except TimeoutError:
                pass
            return answer

    def attack(self, method, path, body=b"", headers=None, *, statuses=range(400, 500)):
        """One hostile request, then the checks every attack must pass."""
        before = self.outside()
        status, reply_headers, reply = self.request(method, path, body, headers)
        assert status in statuses, (method, path, body[:200], status, reply[:300])
        if status >= 400 and method != "HEAD":
            assert "error" in json.loads(reply), reply[:300]
        for name, value in reply_headers.items():
            assert value.isascii() and "\r" not in value and "\n" not in value, (name, value)
        assert "X-Injected" not in reply_headers
        assert SECRET not in reply
        self.assert_unharmed(before)
        return status, reply_headers, reply

    def assert_unharmed(self, before: dict[str, bytes]) -> None:
        assert self.request("GET", "/api/models/org/tiny")[0] == 200, "the server stopped answering"
        assert self.outside() == before, "something outside the root changed"
        assert TOKEN not in self.log.getvalue() and "S" * 34 not in self.log.getvalue()


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return True


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    base = tmp_path_factory.mktemp("hub-attack")
    (base / "secret.txt").write_bytes(SECRET)
    victim = base / "victim" / "repo"
    (victim / "commits").mkdir(parents=True)  # shaped like a repo, so an escaped lookup would find it
    (victim / "repo.json").write_text(json.dumps({"id": "victim/repo", "private": False, "createdAt": "x"}))
    (victim / "refs.json").write_text(json.dumps({"branches": {"main": "0" * 40}, "tags": {}}))
    (base / "tokens").write_text(TOKEN + "\n")
    log, handler = io.StringIO(), None
    handler = logging.StreamHandler(log)
    logger = logging.getLogger("limr_kit.hub.server")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    server = HubServer(base / "root", port=0, token_file=base / "tokens", max_body=MAX_BODY, idle_timeout=2)
    with server:
        hub = Target(base, server, log)
        assert (
            hub.request("POST", "/api/repos/create", json.dumps({"name": "tiny", "organization": "org"}), AUTH)[0]
            == 200
        )
        yield hub
    logger.removeHandler(handler)


SECRET_ABS = "%2F" + "%2F".join(["..", "..", "..", "..", "..", "..", "..", ".."]) + "%2Fetc%2Fpasswd"
URL_ATTACKS = [
    "/api/models/..%2F..%2F..%2Fvictim/repo",
    "/api/models/%2E%2E/%2E%2E",
    "/api/models/org/..%2F..%2F..%2F..%2Fvictim%2Frepo",
    "/api/models/%2Fetc/passwd",
    "/api/models/org/tiny%00",
    "/api/models/%C3%A9t%C3%A9/tiny",
    "/api/models/org/" + "a" * 300,
    "/api/models/org/ti%ZZny",
    "/api/models/org/tiny/revision/..%2F..%2F..%2Fsecret.txt",
    "/api/models/org/tiny/revision/main%00",
    "/api/models/org/tiny/revision/%2Fetc%2Fpasswd",
    "/api/models/org/tiny/commits/%2E%2E%2F%2E%2E%2Fsecret.txt",
    "/api/models/org/tiny/tree/main/..%2F..%2Fsecret.txt",
    "/api/models/org/tiny/tree/..%2F..%2F/x",
    "/api/models/org/tiny/refs%00",
    "/org/tiny/resolve/main/..%2F..%2F..%2F..%2Fsecret.txt",
    "/org/tiny/resolve/main/" + SECRET_ABS,
    "/org/tiny/resolve/main/a%00b",
    "/org/tiny/resolve/main/a%5C..%5C..%5Csecret.txt",
    "/org/tiny/resolve/..%2F..%2Frefs.json/x",
    "/..%2F..%2F..%2Fvictim/repo/resolve/main/repo.json",
    "/datasets/..%2F..%2Fvictim/repo/resolve/main/x",
    "/api/models/org/tiny/revision/x%0d%0aX-Injected:%20yes",
    "/api/models/org/tiny/revision/%E2%9C%93%0aX-Injected:%20yes",
    "/api/no-such%0d%0aX-Injected:%20yes",
]


@pytest.mark.parametrize("path", URL_ATTACKS)
def test_traversal_and_injection_in_urls(target, path):
    for method in ("GET", "HEAD"):
        target.attack(method, path)


def _commit_body(*operations) -> bytes:
    lines = [{"key": "header", "value": {"summary": "attack"}}, *operations]
    return b"\n".join(json.dumps(line).encode() for line in lines)


def _file(path, content=b"x"):
    return {
        "key": "file",
        "value": {"path": path, "content": base64.b64encode(content).decode(), "encoding": "base64"},
    }


BAD_PATHS = ["../../secret.txt", "/etc/passwd", "a/../../b", "a\\..\\b", "a\x00b", "./x", "a//b", "", "x" * 2000]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_traversal_in_commit_paths(target, path):
    secret_abs = str(target.base / "secret.txt")
    for operation in (
        _file(path),
        {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": hashlib.sha256(b"x").hexdigest()}},
        {"key": "deletedFile", "value": {"path": path}},
        {"key": "deletedFolder", "value": {"path": path}},
    ):
        target.attack("POST", "/api/models/org/tiny/commit/main", _commit_body(operation), AUTH)
    preupload = json.dumps({"files": [{"path": path, "size": 1, "sample": ""}]})
    target.attack("POST", "/api/models/org/tiny/preupload/main", preupload, AUTH)
    assert secret_abs  # the absolute path of the secret is tried as an oid below


@pytest.mark.parametrize(
    "oid", ["../../../secret.txt", "ab/../../../../secret.txt", "/etc/passwd", "A" * 64, "0" * 63]
)
def test_oid_traversal_and_verify_oracle(target, oid):
    for candidate in (oid, str(target.base / "secret.txt")):
        operation = {"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": candidate}}
        target.attack("POST", "/api/models/org/tiny/commit/main", _commit_body(operation), AUTH)
        verify = json.dumps({"oid": candidate, "size": len(SECRET)})
        status, _, _ = target.attack("POST", "/org/tiny.git/info/lfs/objects/verify", verify, AUTH)
        assert status == 400  # refused as malformed, not 200/404: no file-existence oracle
    status, _, reply = target.attack("GET", "/org/tiny/resolve/main/w.bin")
    assert status == 404


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "model", "organization": "..", "name": ".."},
        {"type": "../../../victim", "organization": "x", "name": "repo"},
        {"type": "model", "organization": "../../../victim", "name": "repo"},
        {"type": "model", "organization": "org", "name": "../../../../victim/repo"},
        {"type": "model", "organization": "/tmp", "name": "x"},
        {"type": "model", "organization": "\u00e9t\u00e9", "name": "x"},
        {"type": "model", "organization": "org", "name": "a" * 300},
    ],
)
def test_create_and_delete_outside_root_are_refused(target, payload):
    target.attack("DELETE", "/api/repos/delete", json.dumps(payload), AUTH)
    target.attack("POST", "/api/repos/create", json.dumps(payload), AUTH)


MALFORMED = [b"not json", b"[]", b"[1, 2]", b'"x"', b"\xff\xfe\x00", b"[" * 100_000 + b"]" * 100_000, b'{"a": ' * 5000]
ENDPOINTS = [
    ("POST", "/api/repos/create"),
    ("DELETE", "/api/repos/delete"),
    ("POST", "/api/validate-yaml"),
    ("POST", "/api/models/org/tiny/preupload/main"),
    ("POST", "/api/models/org/tiny/commit/main"),
    ("POST", "/org/tiny.git/info/lfs/objects/batch"),
    ("POST", "/org/tiny.git/info/lfs/objects/verify"),
    ("POST", "/api/models/org/tiny/tag/main"),
    ("POST", "/api/models/org/tiny/branch/b1"),
]
WRONG_SHAPES = {
    "/api/repos/create": [{"name": 5}, {"name": ["x"]}, {"organization": {"a": 1}, "name": "x"}],
    "/api/validate-yaml": [{"content": ["---"]}],
    "/api/models/org/tiny/preupload/main": [
        {"files": "x"},
        {"files": [1]},
        {"files": [{"path": "a.txt", "size": "big"}]},
        {"files": [{"path": "a.bin", "size": 1, "sample": "%%%not base64"}]},
        {"files": [{"size": 1}]},
    ],
    "/org/tiny.git/info/lfs/objects/batch": [{"operation": "upload", "objects": "x"}, {"operation": ["upload"]}],
    "/org/tiny.git/info/lfs/objects/verify": [{"oid": 5}, {"size": 1}],
    "/api/models/org/tiny/tag/main": [{"tag": 5}, {"tag": "../x"}, {}],
    "/api/models/org/tiny/branch/b1": [{"startingPoint": ["main"]}, {"startingPoint": "..%2F"}],
}
BAD_COMMITS = [
    b'{"key": "header"}',
    b'{"key": "header", "value": []}',
    b'{"key": "header", "value": {"summary": 5}}',
    b'{"key": "header", "value": {"summary": "s"}}\n[]',
    b'{"key": "header", "value": {"summary": "s"}}\n{"key": "file", "value": "x"}',
    b'{"key": "header", "value": {"summary": "s"}}\n{"key": "file", "value": {"path": "a", "content": "%%%"}}',
    b'{"key": "header", "value": {"summary": "s"}}\n{"key": "file", "value": {"path": "a"}}',
    b'{"key": "header", "value": {"summary": "s"}}\n{"key": "nope", "value": {}}',
    b'{"key": "header", "value": {"summary": "s"}}\nnot json',
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_malformed_bodies_are_400(target, method, path):
    for body in MALFORMED:
        target.attack(method, path, body, AUTH)
    for payload in WRONG_SHAPES.get(path, []):
        target.attack(method, path, json.dumps(payload), AUTH)
    if path.endswith("/commit/main"):
        for body in BAD_COMMITS:
            target.attack(method, path, body, AUTH)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
operation = st.fixed_dictionaries(
    {
        "key": st.sampled_from(["header", "file", "lfsFile", "deletedFile", "deletedFolder", "x"]),
        "value": st.dictionaries(
            st.sampled_from(["path", "content", "oid", "summary", "parentCommit", "size"]),
            st.sampled_from(["../../secret.txt", "/etc/passwd", "a\x00b", "eA==", "%%", "0" * 64]) | json_values,
            max_size=4,
        ),
    }
)
commit_lines = st.lists(operation | json_values, min_size=1, max_size=5).map(
    lambda lines: b"\n".join(json.dumps(line).encode() for line in lines)
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=commit_lines | st.binary(max_size=200))
def test_fuzzed_commit_bodies_never_500(target, body):
    target.attack("POST", "/api/models/org/tiny/commit/main", body, AUTH, statuses=range(200, 500))


def test_non_latin1_and_non_ascii_tokens_get_an_answer(target):
    before = target.outside()
    answer = target.raw(
        b"POST /api/repos/create HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xc3\xa9\xff\r\n"
        b'Content-Length: 14\r\n\r\n{"name": "zz"}'
    )
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    answer = target.raw(b"GET /api/models/org/tiny/revision/\xe2\x9c\x93 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    target.assert_unharmed(before)


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", " 12x", "99999999999999999999999"])
def test_bad_content_length_is_400(target, length):
    before = target.outside()
    answer = target.raw(
        f"POST /api/validate-yaml HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n{{}}".encode()
    )
    assert answer.startswith(b"HTTP/1.1 4"), answer[:200]
    target.assert_unharmed(before)


def test_oversize_bodies_are_413_without_reading_past_the_limit(target):
    before = target.outside()
    for path in ("/api/validate-yaml", "/api/models/org/tiny/commit/main"):
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        answer = target.raw(f"{head}Content-Length: {MAX_BODY + 1}\r\n\r\n".encode())  # refused before any byte
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        chunked = f"{head}Transfer-Encoding: chunked\r\n\r\n".encode()
        answer = target.raw(chunked + b"FFFFFFFF\r\n" + b"x" * (MAX_BODY + 1))  # refused once past the limit
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        answer = target.raw(chunked + b"zz\r\n")
        assert answer.startswith(b"HTTP/1.1 400") and b'"error"' in answer, answer[:200]
    head = f"POST /api/no-such-route HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
    for framing in (f"Content-Length: {MAX_BODY + 1}", "Transfer-Encoding: chunked"):
        assert target.raw(f"{head}{framing}\r\n\r\n".encode()).startswith(b"HTTP/1.1 404")
    target.assert_unharmed(before)


def test_oversize_headers_are_a_json_400(target):
    before = target.outside()
    answer = target.raw(b"GET /api/models/org/tiny HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (128 << 10) + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400") and b'"error"' in answer, answer[:200]
    target.assert_unharmed(before)


def _answers(sock: socket.socket, *pieces: bytes) -> bytes:
    """Send ``pieces`` one read apart (if they arrive together the answer is the same); everything the server
    answers until it closes the connection, as it does in every case here (10 s of quiet: it did not)."""
    for piece in pieces:
        sock.sendall(piece)
        time.sleep(0.05)
    answer = b""
    with contextlib.suppress(TimeoutError):
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_headers_sent_in_pieces_are_counted_to_their_blank_line(target):
    head, pad = b"GET /api/models/org/tiny HTTP/1.1\r\nHost: x\r\n", b"X-Pad: " + b"a" * (20 << 10) + b"\r\n"
    with socket.create_connection((target.host, int(target.port)), timeout=10) as sock:  # 60 KiB: answered
        answer = _answers(sock, head, pad, pad, pad + b"Connection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    with socket.create_connection((target.host, int(target.port)), timeout=10) as sock:  # 80 KiB: refused
        answer = _answers(sock, head, pad, pad, pad, pad)
    assert answer.startswith(b"HTTP/1.1 400") and b'"error"' in answer, answer[:200]
    with socket.create_connection((target.host, int(target.port)), timeout=10) as sock:  # pipelined behind a request
        sock.sendall(head + b"\r\n" + head)  # the second head starts in the read that ends the first request
        answer = sock.recv(65536)
        while not _complete(answer):
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        answer = _answers(sock, pad, pad, pad, pad)
    assert answer.startswith(b"HTTP/1.1 400") and b'"error"' in answer, answer[:200]


def test_a_body_that_stalls_is_408_after_the_idle_timeout(target):
    head = "POST /api/validate-yaml HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\n"
    with socket.create_connection((target.host, int(target.port)), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(head.encode() + b"x" * 100)
        answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert time.monotonic() - started < 8


def test_lfs_upload_past_its_declared_size_is_refused(target):
    data = b"0123456789"
    oid = hashlib.sha256(data).hexdigest()
    batch = json.dumps({"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]})
    status, _, reply = target.request("POST", "/org/tiny.git/info/lfs/objects/batch", batch, AUTH)
    href = json.loads(reply)["objects"][0]["actions"]["upload"]["href"]
    status, _, _ = target.attack("PUT", "/" + href.split("/", 3)[3], data * 100)
    assert status == 413
    target.attack("PUT", "/lfs-upload/..%2F..%2Fsecret.txt", data)


def test_idle_connections_are_closed(target):
    for opening in (b"", b"GET /api/models/org/tiny HTTP/1.1\r\nHost: x\r\n"):  # nothing, or headers never ended
        with socket.create_connection((target.host, int(target.port)), timeout=10) as sock:
            started = time.monotonic()
            sock.sendall(opening)
            for _ in range(3):  # a byte now and then does not keep unfinished headers alive
                time.sleep(0.8)
                with contextlib.suppress(OSError):
                    sock.sendall(b"X-Slow: 1\r\n")
            assert sock.recv(1) == b""  # closed by the server, not by our timeout
            assert time.monotonic() - started < 8


def test_non_loopback_host_needs_a_token_file_or_an_explicit_opt_in(tmp_path):
    with pytest.raises(HubError, match="--token-file"):
        HubServer(tmp_path / "root", host="0.0.0.0", port=0)
    server = HubServer(tmp_path / "root", host="0.0.0.0", port=0, allow_anonymous_writes=True)
    assert "anonymous writes" in server.warning
    server.stop()
    (tmp_path / "tokens").write_text(TOKEN + "\n")
    server = HubServer(tmp_path / "root", host="0.0.0.0", port=0, token_file=tmp_path / "tokens")
    assert "plain HTTP" in server.warning and TOKEN not in server.warning
    server.stop()
    server = HubServer(tmp_path / "root", port=0)
    assert server.warning is None
    server.stop()
