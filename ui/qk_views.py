"""Queries and keys in one plane: a panel of the attention page (for the Q, K and score steps) and,
on Attention during training, the probe sentence's plane at every evaluation beside the head's type
scores. The maths (normalisation, PCA) is ``gpt.interpret.qk_plane``; the figure ``ui/qk_figures.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
import torch

from gpt import Trace, visible
from gpt.interpret import PlaneFit, QKPlane, fit_plane, normalise_qk, project, qk_plane
from gpt.runs import SCORE_KINDS, ProbeRecord, head_score_series, probe_file, probe_has_qk, read_probe_qk
from ui import figures, shell
from ui.qk_figures import qk_plane_figure
from ui.render import show_figure
from ui.watch_figures import HEAD_COLOURS

QK_STEPS = ("q", "k", "raw_scores", "scaled_scores", "masked_scores", "attn_weights")  # the steps it explains
SCORE_NAMES = {"previous_token": "previous-token", "first_token": "first-token", "induction": "induction"}
NORMALISED = (
    "Before projecting, the keys are moved so that their centre is the queries' centre, and queries and keys "
    "are scaled (one up, the other down by the same factor) to the same average length. Neither changes a "
    "single attention weight: moving every key by the same vector adds the same amount to a whole row of "
    "scores, and softmax ignores that. Once the two sets share a centre and a size, a query near a key here "
    "tends to give that key a high score."
)


def plane_frame(plane: QKPlane, labels: list[str]) -> pd.DataFrame:
    """The CSV: one row per query and per key, with its coordinates and (queries) its strongest key."""
    rows = []
    for role, points in (("query", plane.queries), ("key", plane.keys)):
        for i, (x, y) in enumerate(points.tolist()):
            strongest = plane.strongest[i] if role == "query" else None
            rows.append(
                {
                    "role": role,
                    "token": labels[i],
                    "x": x,
                    "y": y,
                    "weights most (key)": strongest,
                    "its weight": plane.strongest_weight[i] if role == "query" else None,
                }
            )
    return pd.DataFrame(rows)


def attention_panel(sel: shell.Selection, trace: Trace, layer: int, head: int) -> None:
    """The attention page's panel: this layer and head's queries and keys of the sentence in one plane."""
    with st.expander(f"Queries and keys in one plane (layer {layer}, head {head})", icon=":material/scatter_plot:"):
        record = trace.layers[layer]
        if trace.n_tokens < 2:
            st.info("The plane needs at least two tokens.")
            return
        steps = record.steps(head)
        plane = qk_plane(record.q[head], record.k[head], steps.attn_weights)
        labels = figures.token_labels(sel.token_texts)
        st.caption(NORMALISED)
        fig = qk_plane_figure(
            plane,
            labels,
            title=f"Queries (circles) and keys (diamonds), layer {layer}, head {head}",
            provenance=sel.provenance(layer=layer, head=head, projection="PCA of queries and keys together"),
        )
        show_figure(fig, plane_frame(plane, labels), f"qk_plane_L{layer}_H{head}", key="attn_qk_plane")
        st.caption(
            f"The two axes keep {sum(plane.shares):.0%} of how the {2 * trace.n_tokens} vectors vary; lines join each "
            "query to the key it gives the most weight."
        )


# --------------------------------------------------------------------------- Attention during training


@st.cache_data(show_spinner=False, max_entries=256)
def cached_qk(path: str, iteration: int, mtime_ns: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Queries and keys of one evaluation (mtime in the key: a resume may rewrite the file)."""
    return read_probe_qk(Path(path), iteration)


def qk_at(run_path: Path, iteration: int) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        mtime = probe_file(run_path, iteration).stat().st_mtime_ns
    except OSError:
        return None
    return cached_qk(str(run_path), iteration, mtime)


def head_vectors(run_path: Path, iteration: int, layer: int, head: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    both = qk_at(run_path, iteration)
    if both is None or layer >= both[0].shape[0] or head >= both[0].shape[1]:
        return None
    return torch.from_numpy(both[0][layer, head]), torch.from_numpy(both[1][layer, head])


def run_plane(run_path: Path, iters: list[int], layer: int, head: int) -> tuple[PlaneFit, tuple] | None:
    """The plane fitted once, on the last evaluation, and axis ranges that hold every evaluation's points."""
    try:
        stamp = probe_file(run_path, iters[-1]).stat().st_mtime_ns
    except OSError:
        return None
    return _run_plane(str(run_path), tuple(iters), layer, head, stamp)


@st.cache_data(show_spinner=False, max_entries=64)
def _run_plane(path: str, iters: tuple[int, ...], layer: int, head: int, stamp: int) -> tuple[PlaneFit, tuple] | None:
    run_path = Path(path)
    last = head_vectors(run_path, iters[-1], layer, head)
    if last is None:
        return None
    fit = fit_plane(*last)
    low, high = np.zeros(2), np.zeros(2)
    for it in iters:
        vectors = head_vectors(run_path, it, layer, head)
        if vectors is None or vectors[0].shape != last[0].shape:
            continue
        points = torch.cat([project(fit, v) for v in normalise_qk(*vectors)]).numpy()
        low, high = np.minimum(low, points.min(axis=0)), np.maximum(high, points.max(axis=0))
    pad = 0.08 * np.maximum(high - low, 1e-6)
    return fit, ((low[0] - pad[0], high[0] + pad[0]), (low[1] - pad[1], high[1] + pad[1]))


def watch_plane(
    run_id: str,
    run_path: Path,
    records: list[ProbeRecord],
    index: int,
    layer: int,
    head: int,
    weights: np.ndarray | None,
) -> None:
    """The probe sentence's queries and keys at the shown evaluation, in the plane of the last one."""
    st.markdown(f"**Queries and keys of layer {layer}, head {head}**")
    record = records[index]
    if not probe_has_qk(run_path, records[-1].iter):
        st.info(
            "This run was recorded before runs saved their queries and keys, so its Q/K plane cannot be drawn. "
            "Runs trained now record them at every evaluation."
        )
        return
    fitted = run_plane(run_path, [r.iter for r in records], layer, head)
    vectors = head_vectors(run_path, record.iter, layer, head)
    labels = figures.token_labels([visible(t) for t in record.tokens])
    n = len(labels)
    fits = weights is not None and weights.shape[2:] == (n, n) and layer < len(weights) and head < weights.shape[1]
    if fitted is None or vectors is None or vectors[0].shape[0] != n or not fits:
        st.info(f"Step {record.iter} has no readable queries and keys (its probe file lacks them or is damaged).")
        return
    fit, ranges = fitted
    plane = qk_plane(vectors[0], vectors[1], torch.from_numpy(weights[layer, head]), fit=fit)
    fig = qk_plane_figure(
        plane,
        labels,
        title="Queries (circles) and keys (diamonds) at this step",
        provenance={
            "run": run_id,
            "step": record.iter,
            "layer": layer,
            "head": head,
            "plane": f"fitted at step {records[-1].iter}",
        },
        ranges=ranges,
        height=420,
    )
    show_figure(fig, plane_frame(plane, labels), f"watch-qk-{run_id}-{record.iter}", key="w_qk")
    st.caption(
        f"One plane for every step, fitted on the last one (step {records[-1].iter}), so the frames compare: "
        "play them to see the head's matching form. Each step's keys are moved and both sets scaled as on the "
        "attention page, which leaves every weight as it was."
    )


def head_score_history(run_id: str, records: list[ProbeRecord], index: int, layer: int, head: int) -> None:
    """This head's three type scores against the training step, the shown step marked."""
    st.markdown(f"**What kind of head is layer {layer}, head {head} becoming?**")
    series, columns = {}, {}
    for kind in SCORE_KINDS:
        found = head_score_series(records, kind)
        if found is None or layer >= found[1].shape[1] or head >= found[1].shape[2]:
            continue
        iters, scores = found
        series[f"{SCORE_NAMES[kind]} score"] = (iters, scores[:, layer, head].tolist())
        columns[SCORE_NAMES[kind]] = pd.Series(scores[:, layer, head], index=iters)
    if not series:
        st.info("This run recorded no type scores for this head.")
        return
    fig = figures.line_chart(
        series,
        title="This head's type scores against the step",
        x_title="training step",
        y_title="score",
        provenance={"run": run_id, "layer": layer, "head": head},
    )
    for trace, colour in zip(fig.data, HEAD_COLOURS):
        trace.line.color = colour
    fig.add_vline(x=records[index].iter, line={"color": "#555555", "dash": "dot", "width": 1.5})
    fig.update_yaxes(range=[0.0, 1.05])
    fig.update_layout(height=420, legend={"orientation": "h", "y": -0.2, "x": 0.0})
    table = pd.DataFrame(columns)
    table.index.name = "iter"
    show_figure(fig, table, f"watch-head-scores-{run_id}-L{layer}-H{head}", key="w_head_scores")


def plane_beside_scores(
    run_id: str,
    run_path: Path,
    records: list[ProbeRecord],
    index: int,
    layer: int,
    head: int,
    weights: np.ndarray | None,
) -> None:
    """The Watch page's row: the head's Q/K plane at this step, beside its type scores over training."""
    plane, scores = st.columns(2)
    with plane:
        watch_plane(run_id, run_path, records, index, layer, head, weights)
    with scores:
        head_score_history(run_id, records, index, layer, head)
