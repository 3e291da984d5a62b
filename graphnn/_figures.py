"""One matplotlib figure on the non-interactive Agg canvas, for graphnn's plotting functions.

matplotlib is optional (``pip install graphnn[examples]``): it is imported
only when a figure is asked for, and its absence is reported naming the
function that needed it.  The Agg canvas opens no window and leaves pyplot's
global state alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["agg_figure"]


def agg_figure(needed_by: str, width: float, height: float) -> Figure:
    """Return an empty ``width`` x ``height`` inch figure on an Agg canvas (constrained layout).

    Raises
    ------
    ImportError
        If matplotlib is not installed; the message names ``needed_by`` and how to install it.

    Examples
    --------
    >>> figure = agg_figure("this example", 2.0, 1.0)
    >>> figure.get_size_inches().tolist()
    [2.0, 1.0]
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            f"{needed_by} needs matplotlib; install it with `pip install graphnn[examples]` "
            "(or `pip install matplotlib`)"
        ) from error
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure
