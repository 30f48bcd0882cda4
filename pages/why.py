"""6 · Why this token?: from attention to the prediction.

Five views of one prediction (position, target token, in the URL): the logit lens, direct logit
attribution, head knockout, the neuron view and "which input tokens mattered?". The numbers come
from ``gpt.interpret`` on the cached trace; the views live in ``ui/why_*.py``.
"""

from __future__ import annotations

import streamlit as st

from ui import lesson, presenter, shell, state, why_knockout, why_lens, why_neuron, why_views

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)
lesson.follow_pending("why")  # a lesson button pressed here may ask for another page

SHOW = {
    "lens": why_lens.show_lens,
    "attribution": why_lens.show_attribution,
    "neuron": why_neuron.show_neuron,
    "inputs": why_neuron.show_inputs,
}


def intro() -> None:
    st.write(
        "The other pages show *what* every head computes. This one asks what that does to the prediction: "
        "what the model would say if it stopped after each layer (**logit lens**), which heads and MLPs wrote "
        "the winning token's score (**attribution**), what the prediction loses without a head (**knockout**, "
        "a causal test), how one attention weight comes out of q and k (**neuron view**), and three answers "
        "to “which input tokens mattered?” (**input tokens**)."
    )


def main() -> None:
    lesson.page_header("why", "6 · Why this token?", intro)
    sel = shell.require_tokens(shell.sidebar())
    if sel is None:
        return
    trace = why_views.trace_of(sel)
    if trace is None:
        return
    cfg = sel.loaded.model.config
    position = why_views.resolve_position(trace.n_tokens)
    choice = why_views.resolve_choice(sel, trace, position)
    knockout = why_knockout.resolve_knockout(cfg.n_layer, cfg.n_head)
    presenting = presenter.is_presenting()
    if not presenting:  # while presenting, the view comes first and the choices below it
        why_views.choice_widgets(sel, trace, choice)
    why_views.prediction_line(sel, trace, choice)
    view = why_views.pick_view()
    if view == "knockout":
        why_knockout.show_knockout(sel, trace, choice, knockout)
    else:
        SHOW[view](sel, trace, choice)
    if presenting:
        why_views.choice_widgets(sel, trace, choice)
    state.publish()


main()
