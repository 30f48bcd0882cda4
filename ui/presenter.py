"""Presenter mode: the app laid out for a projector (1024×768 up to 1920×1080).

On (the sidebar switch, or ``present=1`` in a link): the sidebar starts collapsed, body text is
at least 20 px, every chart's text at least 16 px, tall matrices are fitted to one screen with
every k-th label written (all of them on hover), and the pages put their main figure first.
The palette is chosen here too. Both live in the shared state, so a link keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
import streamlit as st

from ui import state
from ui.palettes import PALETTES, Palette, apply_palette, palette

CHART_FONT_PX = 18  # ticks, axis titles, legends (the issue asks at least 16 px)
CELL_FONT_PX = 16  # numbers written in heatmap cells
HOVER_FONT_PX = 18
TITLE_FONT_PX = 22
MAIN_FIGURE_HEIGHT = 560  # px, labels included: fits under the lesson bar and heading at 768 px high
MIN_PLOT_HEIGHT = 300  # px of cells at least, however long the labels above them
MIN_TICK_SPACING_PX = 26  # labels closer than this overlap at CHART_FONT_PX (slanted ones too)
MIN_CELL_WIDTH_PX = 44  # a cell fits "0.12" at CELL_FONT_PX
# The main figure's plot area at 1024 px wide (measured in Chromium: 330 px beside the step's notes,
# 700 px across the page); the server cannot see the screen, so labels are spaced for the narrow one.
ASSUMED_PLOT_WIDTH_PX = 400

# Body text, widget labels and captions at 20 px; less padding above the page so the main figure
# starts inside the first screen. Streamlit's own test ids, which are stable across its versions.
PRESENTER_CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.75rem; padding-bottom: 2rem; }
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] li,
[data-testid="stMain"] [data-testid="stCaptionContainer"],
[data-testid="stMain"] [data-testid="stWidgetLabel"] p,
[data-testid="stMain"] button p,
[data-testid="stMain"] [data-testid="stMetricLabel"] p,
[data-testid="stMain"] [data-baseweb="tab"] p { font-size: 20px !important; }
[data-testid="stMain"] [data-testid="stHtml"] span { font-size: 22px !important; }
[data-testid="stMain"] h1 { font-size: 30px !important; padding: 0 0 0.25rem 0 !important; }
[data-testid="stMain"] h3 { font-size: 24px !important; }
</style>
"""


@dataclass(frozen=True)
class Look:
    """How this session draws figures."""

    presenting: bool
    colours: Palette


def is_presenting() -> bool:
    return bool(state.get("present"))


def current_look() -> Look:
    return Look(is_presenting(), palette(str(state.get("palette"))))


def sign_colours() -> tuple[str, str]:
    """How this session's palette draws values above and below 0, in words: ("red", "blue")."""
    colours = current_look().colours
    return colours.positive, colours.negative


def page_config_sidebar() -> str:
    """``initial_sidebar_state`` for ``st.set_page_config``: out of the way while presenting."""
    return "collapsed" if is_presenting() else "auto"


def sidebar_controls() -> None:
    """The presenter switch and the palette menu, at the bottom of every page's sidebar."""
    with st.sidebar.expander("Display", icon=":material/co_present:", expanded=is_presenting()):
        st.toggle(
            "Presenter mode",
            help="For a projector: larger text, the main figure first, and PageDown / PageUp (a presenter "
            "clicker) walk through the lesson. Kept in the link (present=1).",
            **state.bind("present", clamp=bool),
        )
        keys = list(PALETTES)
        st.selectbox(
            "Colours",
            keys,
            format_func=lambda k: PALETTES[k].label,
            help="Every palette stays readable with colour-vision deficiencies; masked cells have a colour of "
            "their own. High contrast suits washed-out projectors.",
            **state.bind("palette", clamp=lambda v: v if v in keys else keys[0]),
        )
    if is_presenting():
        st.html(PRESENTER_CSS)
    state.publish(("present", "palette"))


def _fit_ticks(axis: go.layout.XAxis | go.layout.YAxis, room_px: float) -> None:
    """Keep every k-th label so that labels stay MIN_TICK_SPACING_PX apart in ``room_px``."""
    if axis.tickvals is None or axis.ticktext is None:
        return
    most = max(2, int(room_px // MIN_TICK_SPACING_PX))
    if len(axis.tickvals) <= most:
        return
    step = -(-len(axis.tickvals) // most)  # ceil
    axis.tickvals, axis.ticktext = list(axis.tickvals)[::step], list(axis.ticktext)[::step]


def present_figure(fig: go.Figure) -> go.Figure:
    """Projector sizes: larger chart text, matrices fitted to one screen without overlapping labels."""
    fig.update_layout(
        font={"size": CHART_FONT_PX},
        hoverlabel={"font": {"size": HOVER_FONT_PX}},
        legend={"font": {"size": CHART_FONT_PX}},
    )
    fig.update_layout(title_font_size=TITLE_FONT_PX)
    # Per axis as well: Streamlit's chart theme sets axis fonts, which win over the layout's font.
    for update in (fig.update_xaxes, fig.update_yaxes):
        update(tickfont={"size": CHART_FONT_PX}, title_font={"size": CHART_FONT_PX})
    bars = [t for t in fig.data if isinstance(t, go.Bar)]
    for bar in bars:
        # Inside the bars Plotly shrinks numbers to fit (to ~9 px): outside they keep their size.
        bar.update(textfont={"size": CELL_FONT_PX}, textposition="outside", cliponaxis=False)
    if bars:
        fig.update_layout(margin_r=90)  # room for the longest bar's number
    heatmaps = [t for t in fig.data if isinstance(t, go.Heatmap)]
    for trace in heatmaps:
        trace.textfont = {"size": CELL_FONT_PX}
        if trace.x is not None and len(trace.x) * MIN_CELL_WIDTH_PX > ASSUMED_PLOT_WIDTH_PX:
            trace.texttemplate = None  # numbers too wide for their cells: on hover only
        if trace.colorbar is not None:
            trace.colorbar.tickfont = {"size": CHART_FONT_PX}
    if not heatmaps or fig.layout.yaxis.scaleanchor:  # the heads grid sizes itself (square tiles)
        return fig
    # The slanted labels on top need room in proportion to the larger font.
    top = fig.layout.margin.t or 70
    top = int(70 + (top - 70) * CHART_FONT_PX / 12) if top > 70 else top
    bottom = fig.layout.margin.b or 10
    room = MAIN_FIGURE_HEIGHT - top - bottom  # one screen for labels and cells together
    plot = min((fig.layout.height or MAIN_FIGURE_HEIGHT) - (fig.layout.margin.t or 70) - bottom, room)
    plot = max(plot, MIN_PLOT_HEIGHT)
    fig.update_layout(height=plot + top + bottom, margin_t=top)
    _fit_ticks(fig.layout.yaxis, plot)
    _fit_ticks(fig.layout.xaxis, ASSUMED_PLOT_WIDTH_PX)
    return fig


def style_figure(fig: go.Figure, look: Look) -> go.Figure:
    """The session's palette, and projector sizes while presenting: every page's figures pass here."""
    apply_palette(fig, look.colours)
    return present_figure(fig) if look.presenting else fig
