"""SuperGPQA from the Hub: the real datasets client against limr-kit's loopback Hub, on rows we wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys


LOADER = r"""
import json, sys, datasets
from limr_kit.benchmarks.polymath_data import load_supergpqa, seeded_subset
from limr_kit.errors import LimrError

rows = [{"uuid": f"u{i}", "question": f"Which fixture option is {i}?", "options": ["zero", "one", "two", "three"],
         "answer": ["zero", "one", "two", "three"][i % 4], "answer_letter": "ABCD"[i % 4],
         "discipline": ["Science", "Engineering", "Law"][i % 3], "field": "f", "subfield": "s",
         "difficulty": "easy", "is_calculation": False} for i in range(12)]
datasets.Dataset.from_list(rows).push_to_hub("m-a-p/SuperGPQA", split="train")
items, sha = load_supergpqa()
subset = seeded_subset(items, 5, seed=0)
again, _ = load_supergpqa(revision=sha)
rows[3]["answer_letter"] = "F"
datasets.Dataset.from_list(rows).push_to_hub("m-a-p/SuperGPQA", split="train")
try:
    load_supergpqa()
    bad = None
except LimrError as error:
    bad = str(error)
print(json.dumps({"sha": sha, "n": len(items), "domains": sorted({i.domain for i in items}),
                  "first": [items[0].id, items[0].answer, list(items[0].options)],
                  "subset": [i.id for i in subset], "again": [i.id for i in seeded_subset(again, 5, seed=0)],
                  "bad": bad}))
"""


def test_supergpqa_loads_from_the_hub_and_subsets_are_pinned(tmp_path):
    from limr_kit.hub import HubServer

    (tmp_path / "tokens").write_text("hf_testtokentesttokentesttoken00\n")
    with HubServer(tmp_path / "hub", port=0, token_file=tmp_path / "tokens") as hub:
        env = {
            **os.environ,
            "HF_ENDPOINT": hub.url,
            "HF_TOKEN": "hf_testtokentesttokentesttoken00",
            "HF_HOME": str(tmp_path / "hf"),
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        }
        done = subprocess.run([sys.executable, "-c", LOADER], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["n"] == 12 and len(loaded["sha"]) == 40
    assert loaded["domains"] == ["Engineering", "Others", "Science"]
    assert loaded["first"] == ["supergpqa/u0", "A", ["zero", "one", "two", "three"]]
    assert len(loaded["subset"]) == 5 and loaded["subset"] == loaded["again"]
    assert ":4: gold letter 'F' of supergpqa/u3 is not one of its 4 options" in loaded["bad"]
