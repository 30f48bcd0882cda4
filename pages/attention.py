"""3 · Attention, step by step: one layer and head, from X to the output projection.

The page only reads widgets and draws: the steps are defined in ``gpt.interpret.explain``, the numbers
come from the cached trace (``Selection.trace``) and per-head matrices from ``LayerTrace.steps``,
so moving the layer, head or step sliders never re-runs the model.
"""

from __future__ import annotations

import streamlit as st

from gpt import Trace
from gpt.interpret import explain
from ui import lesson, presenter, qk_views, shell, state
from ui.attention_views import matrix_frame, show_what_if
from ui.figures import heatmap, token_labels
from ui.pickers import index_picker
from ui.render import show_figure
from ui.text import md_escape

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)
lesson.follow_pending("attention")  # a lesson button pressed here may ask for another page

N_STEPS = len(explain.STEPS)


def step_targets(current: int) -> tuple[lesson.Stop | None, lesson.Stop | None]:
    """Where Back and Next go: one step either way; while presenting, past the ends to the lesson's
    previous and next pages."""
    if presenter.is_presenting():
        return lesson.neighbour("attention", current, -1), lesson.neighbour("attention", current, 1)
    back = lesson.Stop("attention", current - 1) if current > 0 else None
    forward = lesson.Stop("attention", current + 1) if current < N_STEPS - 1 else None
    return back, forward


def step_name(i: int) -> str:
    return f"{i + 1}. {explain.STEPS[i].title.split(':')[0]}"


def step_controls() -> explain.Step:
    """Back / step slider / Next; PageUp and PageDown (a presenter clicker) press Back and Next."""
    current = explain.clamp_index(state.get("step"), N_STEPS)
    back, forward = step_targets(current)
    with lesson.nav_buttons(back, forward):
        index = index_picker("Step", "step", N_STEPS, step_name)
    return explain.STEPS[index]


def read_it_like_this() -> None:
    st.info(
        "**Read it like this:** each **row** is a query token (the one asking), each **column** a key "
        "token (the one being looked at). Row *i* shows how token *i* relates to every token; with the "
        "causal mask it can only use columns 0 to *i*."
    )


def step_notes(step: explain.Step, trace: Trace, sel: shell.Selection) -> None:
    """The formula, what the step does, its shape and the what-if warnings."""
    cfg = sel.loaded.model.config
    d_k = cfg.head_size
    st.latex(step.latex)
    st.markdown(step.explanation)
    st.caption(f"Shape {explain.shape_text(step, trace.n_tokens, d_k, cfg.n_embd)}")
    if step.id == "scaled_scores":
        a, b = st.columns(2)
        a.metric("d_k (dimensions per head)", d_k)
        b.metric("√d_k (what the scores are divided by)", f"{explain.scale_factor(d_k):.3f}")
        if not trace.options.scale:
            st.warning("What-if “no scaling” is on: this step leaves the raw scores unchanged.")
    if step.id == "masked_scores" and not trace.options.causal:
        st.warning("What-if “no mask” is on: nothing is hidden, every token can see later tokens.")


def step_figure(step: explain.Step, trace: Trace, sel: shell.Selection, layer: int, head: int) -> None:
    cfg = sel.loaded.model.config
    labels = token_labels(sel.token_texts)
    matrix = explain.step_matrix(step, trace.layers[layer], head).float().numpy()
    cols = labels if step.square else explain.column_names(step, cfg.head_size, cfg.n_embd)
    provenance = sel.provenance(layer=layer, head=head if step.per_head else "all", step=step.id)
    fig = heatmap(
        matrix,
        labels,
        cols,
        title=f"{step.title}, layer {layer}" + (f", head {head}" if step.per_head else ""),
        kind=step.kind,
        provenance=provenance,
        col_title="key (column)" if step.square else "dimension",
        row_title="query (row)" if step.square else "token",
    )
    frame = matrix_frame(matrix, labels, cols)
    show_figure(fig, frame, f"attention_L{layer}_H{head}_{step.id}", key="attn_step")
    # The table is drawn only on request: serialising it on every slider move costs server time.
    if st.toggle("Show the exact numbers as a table", key="attn_show_table"):
        st.dataframe(frame, width="stretch")


def show_step(step: explain.Step, trace: Trace, sel: shell.Selection, layer: int, head: int) -> None:
    index = explain.STEP_IDS.index(step.id)
    where = f"layer {layer}, head {head}" if step.per_head else f"layer {layer}, all heads"
    st.subheader(f"Step {index + 1} of {N_STEPS} · {step.title} ({where})")
    if presenter.is_presenting():  # the figure first, beside its explanation: one projector screen
        figure_col, notes_col = st.columns([3, 2])
        with figure_col:
            step_figure(step, trace, sel, layer, head)
        with notes_col:
            step_notes(step, trace, sel)
        return
    step_notes(step, trace, sel)
    if step.square:
        read_it_like_this()
    step_figure(step, trace, sel, layer, head)


def what_if_switches() -> tuple[bool, bool]:
    """The what-if switches, kept in the URL (no_scale=1, no_mask=1) so a shared link shows the same."""
    with st.expander("What if…? Switch off a part of attention and see what changes", expanded=False):
        no_scale = st.toggle("No scaling (do not divide the scores by √d_k)", **state.bind("no_scale", clamp=bool))
        no_mask = st.toggle("No causal mask (let tokens see later tokens)", **state.bind("no_mask", clamp=bool))
    return no_scale, no_mask


def layer_and_head(n_layer: int, n_head: int) -> tuple[int, int]:
    left, right = st.columns(2)
    with left:
        layer = index_picker("Layer", "layer", n_layer)
    with right:
        head = index_picker("Head", "head", n_head)
    return layer, head


def model_caption(sel: shell.Selection) -> None:
    cfg = sel.loaded.model.config
    st.caption(
        f"{md_escape(sel.model_label)} · {len(sel.pieces)} tokens · {cfg.n_layer} layers × {cfg.n_head} heads · "
        f"d_k = {cfg.head_size} · C = {cfg.n_embd}"
    )


def main() -> None:
    presenting = presenter.is_presenting()
    if not presenting:
        st.title("Attention, step by step")
    sel = shell.require_tokens(shell.sidebar())
    if sel is None or not shell.require_parts(sel, "attention steps to follow", "attention"):
        return
    cfg = sel.loaded.model.config
    if not presenting:
        layer_and_head(cfg.n_layer, cfg.n_head)
    step = step_controls()
    if not presenting:
        what_if_switches()
        model_caption(sel)
    # While presenting, the pickers and switches sit below the figure; their values are the shared ones.
    layer = explain.clamp_index(state.get("layer"), cfg.n_layer)
    head = explain.clamp_index(state.get("head"), cfg.n_head)
    no_scale, no_mask = bool(state.get("no_scale")), bool(state.get("no_mask"))
    try:
        normal = sel.trace()
        shown = sel.trace(scale=not no_scale, causal=not no_mask) if (no_scale or no_mask) else normal
    except (ValueError, RuntimeError) as exc:
        st.error(f"The model could not process this text: {md_escape(exc)}")
        return
    show_step(step, shown, sel, layer, head)
    if step.id in qk_views.QK_STEPS:
        qk_views.attention_panel(sel, shown, layer, head)
    if presenting:
        st.caption(lesson.where(lesson.index_of("attention", explain.STEP_IDS.index(step.id)) or 0))
        layer_and_head(cfg.n_layer, cfg.n_head)
        what_if_switches()
        model_caption(sel)
    if shown is not normal:
        show_what_if(sel, normal, shown, layer, head)
    state.publish()


main()
