"""Dataset and model cards: metadata YAML from huggingface_hub's card data, body from ``release/*.md.j2``."""

from __future__ import annotations

from typing import Any

from limr_kit import __version__
from limr_kit.resources import data_dir


LIMR_CITATION = """@misc{li2025limr,
  title         = {LIMR: Less is More for RL Scaling},
  author        = {Xuefeng Li and Haoyang Zou and Pengfei Liu},
  year          = {2025},
  eprint        = {2502.11886},
  archivePrefix = {arXiv},
  primaryClass  = {cs.CL},
  url           = {https://arxiv.org/abs/2502.11886}
}"""
TAGS = ["math", "reasoning", "reinforcement-learning", "rlvr", "limr"]
_SIZE_CATEGORIES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
]


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` bucket for a row count."""
    return next((label for bound, label in _SIZE_CATEGORIES if rows < bound), "n>100M")


def render_card(kind: str, card_data: Any, **context: Any) -> str:
    """README.md text for a ``dataset`` or ``model`` repo: ``card_data`` as YAML, then the template's body."""
    from huggingface_hub import DatasetCard, ModelCard

    card_class = DatasetCard if kind == "dataset" else ModelCard
    template = data_dir("release") / f"{kind}_card.md.j2"
    card = card_class.from_template(
        card_data, template_path=str(template), citation=LIMR_CITATION, toolkit_version=__version__, **context
    )
    return str(card).rstrip() + "\n"
