"""Colour palettes for every matrix figure, chosen once per session (and kept in the URL).

Figure builders tag each heatmap trace with what it shows (``meta``: "weights", "scores",
"values" or "masked"); ``apply_palette`` then colours every tagged trace of a figure, so a
palette is defined here and nowhere else. Plotly only: no Streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.colors
import plotly.graph_objects as go

# The values a figure's trace ``meta`` may carry.
WEIGHTS, SCORES, VALUES, MASKED = "weights", "scores", "values", "masked"
SIGNED = "signed"  # bars coloured by their sign, in the diverging scale's two colours


@dataclass(frozen=True)
class Palette:
    label: str  # as the menu shows it
    sequential: str  # Plotly colour scale for 0..1 quantities (attention weights, probabilities)
    diverging: str  # for signed quantities centred on 0 (scores, embeddings, changes)
    masked: str  # masked (−∞) cells: a colour neither scale contains, so they never read as a value
    positive: str  # the diverging scale's colour for values above 0, in words ("red")
    negative: str  # ... and below 0 ("blue"): captions name colours from here, never from memory


# Keys are what the URL carries (``palette=contrast``); the first is the default.
PALETTES: dict[str, Palette] = {
    # Viridis and ColorBrewer's RdBu are both readable with the common colour-vision deficiencies,
    # and viridis keeps rising in lightness, so it also survives a greyscale printout.
    "viridis": Palette("Colour-blind safe (viridis)", "Viridis", "RdBu_r", "#8c8c8c", "red", "blue"),
    # For washed-out projectors: the widest lightness range there is, white to black.
    "contrast": Palette("High contrast (black on white)", "Greys", "PuOr_r", "#00a651", "brown", "purple"),
    # The app's first look: one hue for weights.
    "blues": Palette("Classic blues", "Blues", "RdBu_r", "#8c8c8c", "red", "blue"),
}
DEFAULT_PALETTE = next(iter(PALETTES))


def palette(key: str) -> Palette:
    """The palette called ``key``; an unknown key (e.g. from a hand-edited link) gives the default."""
    return PALETTES.get(key, PALETTES[DEFAULT_PALETTE])


def scale_for(kind: str, chosen: Palette) -> str | list[list[object]]:
    """The colour scale of a trace that shows ``kind``."""
    if kind == MASKED:
        return [[0, chosen.masked], [1, chosen.masked]]
    return chosen.sequential if kind == WEIGHTS else chosen.diverging


def sign_colours(chosen: Palette) -> tuple[str, str]:
    """The colours the diverging scale gives clearly positive and clearly negative values."""
    high, low = plotly.colors.sample_colorscale(chosen.diverging, [0.85, 0.15])
    return high, low


def apply_palette(fig: go.Figure, chosen: Palette) -> go.Figure:
    """Colour every tagged heatmap of ``fig`` with ``chosen``, and signed bars with its two sign colours, so a
    bar and a cell of the same sign look alike (untagged traces are left alone)."""
    for trace in fig.data:
        if isinstance(trace, go.Heatmap) and trace.meta in (WEIGHTS, SCORES, VALUES, MASKED):
            trace.colorscale = scale_for(str(trace.meta), chosen)
        elif isinstance(trace, go.Bar) and trace.meta == SIGNED:
            positive, negative = sign_colours(chosen)
            trace.marker.color = [positive if v >= 0 else negative for v in trace.x]
    return fig
