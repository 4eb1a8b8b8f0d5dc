"""Decontamination: find training prompts that share text with benchmark problems (open-r1's rule and ours)."""

from limr_kit.decontam.check import (
    DecontaminateResult,
    Decontamination,
    check,
    clean_table,
    decontaminate,
    write_reports,
)


__all__ = ["DecontaminateResult", "Decontamination", "check", "clean_table", "decontaminate", "write_reports"]
