"""6 · Why this token?: from attention to the prediction.

Five views of one prediction (position, target token, in the URL): the logit lens, direct logit
attribution, head knockout, the neuron view and "which input tokens mattered?". The numbers come
from ``gpt.interpret`` on the cached trace; the views live in ``ui/why_*.py``.
"""

from __future__ import annotations

import streamlit as st

from gpt import Trace
from gpt.interpret import Knockout
from ui import lesson, presenter, shell, state, why_knockout, why_lens, why_neuron, why_views

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)
lesson.follow_pending("why")  # a lesson button pressed here may ask for another page

SHOW = {
    "lens": why_lens.show_lens,
    "attribution": why_lens.show_attribution,
    "neuron": why_neuron.show_neuron,
    "inputs": why_neuron.show_inputs,
}

# What a view shows, and the parts it needs that a model of the architecture ladder lab may lack (the
# lens needs none). Attribution splits the last vector into a sum of parts read through ln_f's scale.
NEEDS = {
    "attribution": ("shares of heads and MLPs in the logit", ("attention", "residual", "layernorm")),
    "knockout": ("heads to knock out", ("attention",)),
    "neuron": ("attention weights to take apart", ("attention",)),
    "inputs": ("attention paths from the input tokens", ("attention",)),
}


def intro() -> None:
    st.write(
        "The other pages show *what* every head computes. This one asks what that does to the prediction: "
        "what the model would say if it stopped after each layer (**logit lens**), which heads and MLPs wrote "
        "the winning token's score (**attribution**), what the prediction loses without a head (**knockout**, "
        "a causal test), how one attention weight comes out of q and k (**neuron view**), and three answers "
        "to “which input tokens mattered?” (**input tokens**)."
    )


def show_view(
    view: str, sel: shell.Selection, trace: Trace, choice: why_views.Choice, knockout: Knockout | None
) -> None:
    if view == "knockout":
        why_knockout.show_knockout(sel, trace, choice, knockout)
    else:
        SHOW[view](sel, trace, choice)


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
    knockout = why_knockout.resolve_knockout(cfg.n_layer, cfg.n_head) if cfg.has_attention else None
    presenting = presenter.is_presenting()
    if not presenting:  # while presenting, the view comes first and the choices below it
        why_views.choice_widgets(sel, trace, choice)
    why_views.prediction_line(sel, trace, choice)
    view = why_views.pick_view()
    shows, needs = NEEDS.get(view, ("", ()))
    if shell.require_parts(sel, shows, *needs):  # else the message says which part this model lacks
        show_view(view, sel, trace, choice, knockout)
    if presenting:
        why_views.choice_widgets(sel, trace, choice)
    state.publish()


main()
