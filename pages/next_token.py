"""Step 5: the next-token distribution (temperature, top-k, top-p) and step-by-step generation."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from gpt import MAX_GENERATION_WORK, SamplingSettings, generate, next_token_probs
from gpt.interpret import generation_rows, shown_token, top_token_rows
from ui import chips, figures, lesson, shell, state
from ui.models import generation_in_progress, generation_step
from ui.render import csv_button, show_figure

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)
lesson.follow_pending("next_token")  # a lesson button pressed here may ask for another page

MAX_GENERATE = 50  # tokens per click: keeps a shared classroom server responsive
DEFAULT_SEED = 1337
ALTERNATIVES = 8  # candidates kept per generated token
GENERATION_KEY = "nt_generation"  # session key of the last generation (per browser session)


def controls(vocab_size: int) -> tuple[SamplingSettings, int]:
    a, b, c, d = st.columns(4)
    temperature = a.slider(
        "Temperature",
        0.0,
        2.0,
        1.0,
        0.05,
        key="nt_temperature",
        help="Divides the scores before softmax: below 1 sharpens, above 1 flattens; 0 always takes the top token.",
    )
    top_k = b.number_input(
        "Top-k (0 = off)",
        0,
        vocab_size,
        0,
        key="nt_top_k",
        help="Keep only the k most likely tokens, then renormalise.",
    )
    top_p = c.slider(
        "Top-p",
        0.05,
        1.0,
        1.0,
        0.05,
        key="nt_top_p",
        help="Keep the most likely tokens until their probabilities add up to p (1 = off).",
    )
    shown = vocab_size
    if vocab_size > 3:
        shown = d.slider("Bars shown", 3, min(30, vocab_size), min(10, vocab_size), key="nt_bars")
    seed = st.session_state.get("nt_seed", DEFAULT_SEED)
    settings = SamplingSettings(
        temperature=float(temperature),
        top_k=int(top_k) or None,
        top_p=float(top_p) if top_p < 1.0 else None,
        seed=int(seed),
    )
    return settings, int(shown)


def settings_text(settings: SamplingSettings) -> str:
    top_k = settings.top_k or "off"
    top_p = settings.top_p if settings.top_p is not None else "off"
    return f"T={settings.temperature:g}, top-k={top_k}, top-p={top_p}"


def distribution(sel: shell.Selection, settings: SamplingSettings, shown: int) -> None:
    trace = sel.trace()  # cached: moving the sliders only re-does the cheap softmax below
    n = len(sel.pieces)
    position = n - 1
    if n > 1:
        # The widget key includes the length, so a new sentence starts at its last token again.
        position = st.slider("Predict the token after position", 0, n - 1, n - 1, key=f"nt_position_{n}")
    context = "".join(sel.token_texts[max(0, position - 7) : position + 1])
    logits = trace.logits_at(position)  # (vocab,)
    probs = next_token_probs(logits, settings)
    raw = torch.softmax(logits.float(), dim=-1)
    rows = top_token_rows(probs, sel.loaded.tokenizer, shown, raw_probs=raw)
    table = pd.DataFrame(rows).set_index("rank")
    fig = figures.bar_chart(
        list(table["token"]),
        list(table["probability"]),
        title=f"Next token after “…{context}” (position {position})",
        provenance=sel.provenance(sampling=settings_text(settings)),
    )
    show_figure(fig, table, "next-token", key="next_token")
    alive = int((probs > 0).sum())
    st.caption(
        f"{alive:,} of {probs.numel():,} tokens can still be drawn with these settings. "
        "The CSV also lists each token's probability under plain softmax (T=1, no cut-off) for comparison."
    )


def run_generation(sel: shell.Selection, settings: SamplingSettings, n_new: int) -> None:
    """Generate and keep the result for this session; a request too big for the server gets a message."""
    # A compute slot per step, not per click: other students' requests get in between the steps.
    model, ids = sel.loaded.model, list(sel.token_ids)
    try:
        with st.spinner("Generating…"), generation_in_progress():
            steps = generate(model, ids, n_new, settings, ALTERNATIVES, generation_step, MAX_GENERATION_WORK)
    except ValueError as exc:
        st.error(str(exc))
        return
    result = {"model_id": sel.model_id, "token_ids": sel.token_ids, "settings": settings, "steps": steps}
    st.session_state[GENERATION_KEY] = result


def generation(sel: shell.Selection, settings: SamplingSettings) -> None:
    st.subheader("Generate, one token at a time")
    st.write(
        "The model predicts a distribution, one token is drawn from it, appended, and the longer text goes "
        "back in. With the same seed and settings the draw is the same every time: handy for a demo."
    )
    a, b, c = st.columns([1, 1, 1])
    n_new = a.number_input("Tokens to generate", 1, MAX_GENERATE, 20, key="nt_n_new")
    b.number_input("Seed", 0, 2**31 - 1, DEFAULT_SEED, key="nt_seed", help="Same seed + same settings = same text.")
    c.write("")
    c.write("")
    if c.button("Generate", type="primary", key="nt_generate"):
        run_generation(sel, settings, int(n_new))
    result = st.session_state.get(GENERATION_KEY)
    if not result or result["model_id"] != sel.model_id or result["token_ids"] != sel.token_ids:
        st.caption("Press **Generate** to continue the sentence.")
        return
    show_generation(sel, result["settings"], result["steps"])


def show_generation(sel: shell.Selection, settings: SamplingSettings, steps: list) -> None:
    tokenizer = sel.loaded.tokenizer
    prompt = "".join(p.text for p in sel.pieces)
    st.html(chips.generated_html(prompt, [tokenizer.token_text(s.token_id) for s in steps]))
    st.caption(f"Made with {settings_text(settings)}, seed {settings.seed}.")
    rows = pd.DataFrame(generation_rows(steps, tokenizer)).set_index("step")
    st.dataframe(rows, width="stretch", height=min(400, 40 + 35 * len(rows)))
    if len(steps) > 1:
        step = st.slider("Look at step", 1, len(steps), 1, key=f"nt_step_{len(steps)}")
    else:
        step = 1
    chosen = steps[step - 1]
    labels = [shown_token(tokenizer.token_text(t)) for t, _ in chosen.alternatives]
    values = [p for _, p in chosen.alternatives]
    ids = [t for t, _ in chosen.alternatives]
    highlight = ids.index(chosen.token_id) if chosen.token_id in ids else None
    if highlight is None:  # a low-probability draw: add it so the chart shows what was picked
        labels.append(shown_token(tokenizer.token_text(chosen.token_id)))
        values.append(chosen.prob)
        ids.append(chosen.token_id)
        highlight = len(ids) - 1
    fig = figures.bar_chart(
        labels,
        values,
        title=f"Step {step}: the candidates, the drawn token in red",
        provenance=sel.provenance(sampling=settings_text(settings), seed=settings.seed, step=step),
        highlight=highlight,
    )
    data = pd.DataFrame(
        {"token": labels, "id": ids, "probability": values, "chosen": [i == highlight for i in range(len(ids))]}
    )
    show_figure(fig, data, f"generation-step-{step}", key="generation_step")
    csv_button(rows, "generation", key="csv_generation", label="Download all steps (CSV)")


def intro() -> None:
    st.write(
        "After the last layer, the vector at each position is compared with every token's embedding, giving one "
        "score (logit) per vocabulary entry. Softmax turns the scores into probabilities for the **next** token. "
        "Sampling settings reshape that distribution before a token is drawn."
    )
    st.latex(r"P(\text{token}_j) = \frac{e^{z_j / T}}{\sum_k e^{z_k / T}}")


def main() -> None:
    lesson.page_header("next_token", "5 · Next token", intro)
    sel = shell.require_tokens(shell.sidebar())
    if sel is None:
        return
    sampling, bars = controls(sel.loaded.tokenizer.vocab_size)
    distribution(sel, sampling, bars)
    generation(sel, sampling)


main()
