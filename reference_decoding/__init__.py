"""Masked-diffusion decoding: engine, denoisers (oracle, neural) and difficulty calibration.

``load_masked_lm(path)`` (LLaDA, Dream, any masked LM, a tiny model) is importable from here; it needs the
``decoding`` extra (torch), which is imported only when it is first used.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """Import `load_masked_lm` on first use, so importing the package stays light without torch."""
    if name == "load_masked_lm":
        from .hf_models import load_masked_lm

        return load_masked_lm
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
