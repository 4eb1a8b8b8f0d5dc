"""The rules that exist once and serve several commands: JSON lines, KEY=VALUE, ID@REVISION, selection."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from limr_kit._io import JsonlAppender, cut_torn_tail, iter_jsonl, scan_jsonl
from limr_kit.errors import BadRowError, InputError
from limr_kit.hub.client import parse_spec
from limr_kit.lim.scoring import select
from limr_kit.parsing import parse_assignments


def test_one_jsonl_reader_and_one_appender(tmp_path):
    path = tmp_path / "log.jsonl"
    appender = JsonlAppender(path)
    appender.write({"id": "a", "text": "é", "x": float("nan")})
    appender.write({"id": "b"})
    appender.close()
    assert path.read_text(encoding="utf-8") == '{"id": "a", "text": "é", "x": null}\n{"id": "b"}\n'
    with open(path, "ab") as handle:
        handle.write(b'\n[1]\n{"id": "c", "te')  # a blank line, a non-object, then a line torn mid-write
    assert [(n, row, problem) for n, row, problem in scan_jsonl(path, skip_torn_tail=True)] == [
        (1, {"id": "a", "text": "é", "x": None}, None),
        (2, {"id": "b"}, None),
        (4, None, "expected a JSON object, got list"),
    ]
    with pytest.raises(BadRowError, match=r"log.jsonl:4: expected a JSON object, got list"):
        list(iter_jsonl(path))
    cut_torn_tail(path)
    assert path.read_bytes().endswith(b"[1]\n")
    (tmp_path / "latin1.jsonl").write_bytes(b'{"a": 1}\n{"b": "\xe9"}\n')
    with pytest.raises(BadRowError, match=r"latin1.jsonl:2: not UTF-8 text"):
        list(iter_jsonl(tmp_path / "latin1.jsonl"))
    assert [row for _, row, _ in scan_jsonl(tmp_path / "latin1.jsonl", errors="replace")][1] == {"b": "\ufffd"}


def test_one_key_value_parser_for_set_and_vllm_arg():
    assert parse_assignments(["train.lr=1.0e-6", " --flag =true", "betas=[0.9, 0.95]", "gone=null"]) == {
        "train.lr": 1e-6,
        "flag": True,
        "betas": [0.9, 0.95],
        "gone": None,
    }
    assert parse_assignments(["max-num-seqs=8"], option="--vllm-arg", dashes=True) == {"max_num_seqs": 8}
    with pytest.raises(InputError, match=r"--vllm-arg takes KEY=VALUE \(for example max_num_seqs=64\), got 'x'"):
        parse_assignments(["x"], option="--vllm-arg", example="max_num_seqs=64")
    with pytest.raises(InputError, match=r"--set a=\[1: the value is not valid YAML"):
        parse_assignments(["a=[1"])


def test_one_repo_revision_parser():
    assert parse_spec("org/name") == ("org/name", "main")
    assert parse_spec("org/name@v1") == ("org/name", "v1")
    assert parse_spec("org/name", default="") == ("org/name", "")
    with pytest.raises(InputError, match="empty revision after '@'"):
        parse_spec("org/name@")
    with pytest.raises(InputError, match="Invalid repo id 'not/a/repo'"):
        parse_spec("not/a/repo@v1")


def test_one_git_blob_hash_serves_the_hub_server_and_publish(tmp_path):
    from limr_kit.hub.store import Store
    from limr_kit.release.publish import PlannedFile, file_oids

    git = "ce013625030ba8dba906f756967f9e9ca394464a"  # `git hash-object` of "hello\n"
    assert Store(tmp_path / "hub").add_blob({}, "x", b"hello\n")["x"]["oid"] == git
    assert PlannedFile.from_bytes("x", b"hello\n").git_sha1 == git
    (tmp_path / "x").write_bytes(b"hello\n")
    assert file_oids(tmp_path / "x") == (hashlib.sha256(b"hello\n").hexdigest(), git)


def test_one_selection_rule():
    scores = np.array([0.9, 0.6, np.nan, 0.59, 0.6])
    assert select(scores).selected.tolist() == [True, True, False, False, True]  # the LIM default, 0.6 inclusive
    strict = select(scores, threshold=0.6, strict=True)
    assert strict.selected.tolist() == [True, False, False, False, False] and (strict.threshold, strict.strict) == (
        0.6,
        True,
    )
    top = select(scores, top_k=2)  # ties keep input order; NaN is never picked
    assert top.selected.tolist() == [True, True, False, False, False] and top.threshold is None and top.top_k == 2
    for kwargs, message in [
        ({"threshold": 0.5, "top_k": 1}, "Give either --threshold or --top-k, not both."),
        ({"threshold": float("inf")}, "--threshold must be a finite number"),
        ({"top_k": 0}, "--top-k must be at least 1, got 0."),
    ]:
        with pytest.raises(InputError, match=message.replace("(", r"\(").replace(".", r"\.")):
            select(scores, **kwargs)
