"""The Next token page's generation figures: one step's distribution with its cut-off, and the
sampling tree. Plotly only, no Streamlit; every token label is escaped here (``safe_label``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import plotly.graph_objects as go

from gpt import SamplingSettings
from gpt.interpret import CutOffView, SamplingTree, TreeNode, branch_text
from ui.figures import bar_chart, provenance_text, safe_label

GREEDY_COLOUR = "#009E73"  # Okabe-Ito green: the path that always takes the most likely token
SAMPLED_COLOUR = "#D55E00"  # vermillion: the path the seeded draw took
EDGE_COLOUR = "#9ca3af"
CHOSEN_COLOUR = "#111111"  # the branch the text continues from
LEAF_ROW_PX = 26  # vertical room per leaf of the tree


def settings_text(settings: SamplingSettings) -> str:
    """'T=0.8, top-k=40, top-p=off': the sampling settings as the figures' provenance writes them."""
    top_k = settings.top_k or "off"
    top_p = settings.top_p if settings.top_p is not None else "off"
    return f"T={settings.temperature:g}, top-k={top_k}, top-p={top_p}"


def cut_off_chart(
    view: CutOffView,
    tokens: Sequence[str],
    *,
    title: str,
    provenance: Mapping[str, object] | None = None,
) -> go.Figure:
    """Bars of what the token was drawn from (the drawn one red), hollow bars of the same tokens
    before top-k / top-p, and a dashed line where the cut-off falls among them. ``tokens`` as shown."""
    labels = [f"{rank}. {token}" for rank, token in zip(view.ranks, tokens)]
    fig = bar_chart(labels, view.after, title=title, provenance=provenance, highlight=view.drawn, numbered=False)
    fig.data[0].update(name="drawn from (after the cut-off)", showlegend=True)
    fig.add_trace(
        go.Bar(
            x=list(view.before),
            y=list(fig.data[0].y),
            orientation="h",
            name="before the cut-off (temperature only)",
            marker={"color": "rgba(0,0,0,0)", "line": {"color": "#555555", "width": 1.5}},
            hovertemplate="%{y}<br>before the cut-off: %{x:.4f}<extra></extra>",
        )
    )
    fig.update_layout(barmode="overlay", legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0.0})
    first_cut = next((i for i, rank in enumerate(view.ranks) if rank > view.kept), None)
    if first_cut is not None and first_cut > 0:
        fig.add_shape(
            type="line",
            xref="paper",
            x0=0,
            x1=1,
            y0=first_cut - 0.5,
            y1=first_cut - 0.5,
            line={"color": "#d62728", "dash": "dash", "width": 2},
        )
        fig.add_annotation(
            xref="paper",
            x=1,
            y=first_cut - 0.5,
            text=f"cut-off: {view.kept:,} token(s) kept",
            showarrow=False,
            xanchor="right",
            yanchor="bottom",
            font={"color": "#d62728"},
        )
    fig.update_layout(height=(fig.layout.height or 300) + 60, margin_b=70)  # the legend below the axis title
    return fig


def _leaf_rows(tree: SamplingTree) -> dict[tuple[int, ...], float]:
    """Where each node sits vertically: leaves one row apart in depth-first order, every other node
    in the middle of its children (the root, path (), in the middle of the first step's)."""
    rows: dict[tuple[int, ...], float] = {}
    next_leaf = 0.0

    def place(path: tuple[int, ...], children: Sequence[TreeNode]) -> float:
        nonlocal next_leaf
        if not children:
            rows[path] = next_leaf
            next_leaf += 1
            return rows[path]
        ys = [place(child.path, child.children) for child in children]
        rows[path] = (ys[0] + ys[-1]) / 2
        return rows[path]

    place((), tree.children)
    return rows


def node_label(token: str, node: TreeNode) -> str:
    """'a (0.23)' above a branch point; a leaf adds its whole path's probability: 'a (0.23 · path 0.054)'."""
    return f"{token} ({node.prob:.2f})" if node.children else f"{token} ({node.prob:.2f} · path {node.path_prob:.2g})"


def _on_path(path: tuple[int, ...], along: tuple[int, ...]) -> bool:
    return len(path) <= len(along) and along[: len(path)] == path


def tree_chart(
    tree: SamplingTree,
    token_text: Callable[[int], str],
    *,
    greedy: tuple[int, ...],
    sampled: tuple[int, ...],
    chosen: tuple[int, ...],
    prompt_label: str,
    title: str,
    provenance: Mapping[str, object] | None = None,
) -> go.Figure:
    """The tree left to right: the prompt, then one column per step; each branch labelled with its
    token and probability, the greedy path green, the sampled path dashed vermillion, the branch the
    text continues from ringed. A point's ``customdata`` is its branch ("2.1") for clicks.
    ``token_text`` gives a token id's text as shown (not yet escaped)."""
    rows = _leaf_rows(tree)
    nodes = list(tree.nodes())
    fig = go.Figure()
    # Greedy edges are drawn wide and solid, sampled ones narrower and dashed on top: where the two
    # paths agree both stay visible.
    styles = {
        "other": ("other branches", {"color": EDGE_COLOUR, "width": 1.5}),
        "greedy": ("greedy (always the most likely)", {"color": GREEDY_COLOUR, "width": 7}),
        "sampled": ("the generated text (seeded)", {"color": SAMPLED_COLOUR, "width": 3, "dash": "dash"}),
    }
    edges: dict[str, tuple[list, list]] = {kind: ([], []) for kind in styles}
    for node in nodes:
        kinds = [k for k, along in (("greedy", greedy), ("sampled", sampled)) if _on_path(node.path, along)]
        for kind in kinds or ["other"]:
            xs, ys = edges[kind]
            xs += [node.depth - 1, node.depth, None]
            ys += [rows[node.path[:-1]], rows[node.path], None]
    for kind, (xs, ys) in edges.items():
        name, line = styles[kind]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=line, name=name, hoverinfo="skip"))
    shown = [safe_label(token_text(n.token_id)) for n in nodes]
    fig.add_trace(
        go.Scatter(
            x=[0] + [n.depth for n in nodes],
            y=[rows[()]] + [rows[n.path] for n in nodes],
            mode="markers+text",
            text=[safe_label(prompt_label)] + [node_label(t, n) for t, n in zip(shown, nodes)],
            # Leaves are labelled to their right, other nodes above them: their edges leave to the right.
            textposition=["middle left"] + ["top center" if n.children else "middle right" for n in nodes],
            customdata=[""] + [branch_text(n.path) for n in nodes],
            hovertext=["the sentence (click: continue from it)"]
            + [
                f"branch {branch_text(n.path)}: “{t}”<br>probability {n.prob:.4f}<br>path probability {n.path_prob:.4g}"
                for t, n in zip(shown, nodes)
            ],
            hovertemplate="%{hovertext}<extra></extra>",
            marker={
                "size": [12] + [8 + 14 * n.prob**0.5 for n in nodes],
                "color": ["#6b7280"] + ["#1f77b4"] * len(nodes),
                "line": {
                    "color": CHOSEN_COLOUR,
                    "width": [4 if not chosen else 0] + [4 if n.path == chosen else 0 for n in nodes],
                },
            },
            name="branches (click one to continue from it)",
            cliponaxis=False,
        )
    )
    leaves = sum(1 for n in nodes if not n.children)
    fig.update_xaxes(
        tickvals=list(range(tree.depth + 1)),
        ticktext=["sentence"] + [f"step {d}" for d in range(1, tree.depth + 1)],
        range=[-0.9, tree.depth + 0.9],
        showgrid=False,
        zeroline=False,
        side="top",
    )
    fig.update_yaxes(visible=False, autorange="reversed")
    sub = provenance_text(provenance)
    fig.update_layout(
        title={"text": safe_label(title) + (f"<br><sup>{sub}</sup>" if sub else ""), "x": 0.0},
        height=max(320, 150 + LEAF_ROW_PX * leaves),
        margin={"l": 10, "r": 10, "t": 100, "b": 10},
        legend={"orientation": "h", "y": -0.02, "x": 0.0},
        clickmode="event+select",
        dragmode=False,
        hovermode="closest",
    )
    return fig
