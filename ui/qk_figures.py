"""One head's queries and keys in one plane: circles for queries, diamonds for keys, each labelled by
its token, and a line from each query to the key it weights most. Plotly only, no Streamlit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from gpt.interpret import QKPlane
from ui.figures import provenance_text, safe_label

QUERY_COLOUR = "#0072B2"  # Okabe-Ito blue
KEY_COLOUR = "#E69F00"  # Okabe-Ito orange: apart from blue for every colour-vision deficiency
LINE_COLOUR = "#9ca3af"
MAX_WRITTEN_LABELS = 64  # above this many tokens, labels go to hover only (the demo models' whole context)


def qk_plane_figure(
    plane: QKPlane,
    labels: Sequence[str],
    *,
    title: str,
    provenance: Mapping[str, object] | None = None,
    ranges: tuple[tuple[float, float], tuple[float, float]] | None = None,
    height: int = 460,
) -> go.Figure:
    """``labels`` are the tokens as shown ("3: fox"), escaped here. ``ranges`` fixes both axes (the
    frames of a training run share them); both axes have the same scale, as dot products need."""
    names = [safe_label(label) for label in labels]
    # Each point is written with its token alone ("fox"); the hover names its position too ("3: fox").
    tokens = [safe_label(label.split(": ", 1)[-1]) for label in labels]
    q, k = plane.queries.tolist(), plane.keys.tolist()
    xs: list[float | None] = []
    ys: list[float | None] = []
    for i, j in enumerate(plane.strongest):
        xs += [q[i][0], k[j][0], None]
        ys += [q[i][1], k[j][1], None]
    written = len(labels) <= MAX_WRITTEN_LABELS
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": LINE_COLOUR, "width": 1},
            hoverinfo="skip",
            name="query → its strongest key",
        )
    )
    roles = (("query", "queries", q, QUERY_COLOUR, "circle"), ("key", "keys", k, KEY_COLOUR, "diamond"))
    for role, plural, points, colour, symbol in roles:
        if role == "query":
            hover = [
                f"query {name}<br>weights most: key {names[j]} ({w:.2f})"
                for name, j, w in zip(names, plane.strongest, plane.strongest_weight)
            ]
        else:
            hover = [f"key {name}" for name in names]
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in points],
                y=[p[1] for p in points],
                mode="markers+text" if written else "markers",
                text=tokens if written else None,
                textposition="top center" if role == "query" else "bottom center",
                textfont={"color": colour, "size": 11},
                marker={"color": colour, "symbol": symbol, "size": 10, "line": {"color": "#ffffff", "width": 1}},
                name=plural,
                hovertext=hover,
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    share_x, share_y = plane.shares
    fig.update_xaxes(title=f"PC 1 ({share_x:.0%} of the variation)", zeroline=False)
    fig.update_yaxes(title=f"PC 2 ({share_y:.0%})", zeroline=False, scaleanchor="x", scaleratio=1)
    if ranges is not None:
        fig.update_xaxes(range=list(ranges[0]))
        fig.update_yaxes(range=list(ranges[1]))
    sub = provenance_text(provenance)
    fig.update_layout(
        title={"text": safe_label(title) + (f"<br><sup>{sub}</sup>" if sub else ""), "x": 0.0},
        height=height,
        margin={"l": 10, "r": 10, "t": 70, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0.0},
        hovermode="closest",
    )
    return fig
