"""Dataset-card templates, the renderer and the calibration plot; every build writes its README.md from them."""

from .plot import CARD_PLOT, plot_png
from .render import package_source_url, render_card

__all__ = ["CARD_PLOT", "package_source_url", "plot_png", "render_card"]
