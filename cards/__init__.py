"""Dataset-card templates and the renderer; every build writes its README.md from them."""

from .render import render_card

__all__ = ["render_card"]
