"""Lab 9 view: a bigram baseline that cannot use context (maths: ``gpt.labs.bigram``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from gpt import DEFAULT_CORPUS
from gpt.interpret import shown_token
from gpt.labs import Lab, bigram
from ui.figures import line_chart
from ui.labs import widgets as view
from ui.text import md_escape


@st.cache_resource(show_spinner="Training the bigram model (a second or two)…")
def trained_bigram(steps: int, lr: float) -> bigram.BigramModel:
    """Shared read-only by all sessions; keyed by the training settings."""
    return bigram.train_bigram(DEFAULT_CORPUS.read_text(encoding="utf-8"), steps=steps, lr=lr)


def render(lab: Lab) -> None:
    st.markdown(
        "A bigram model predicts the next character from the current character alone: it is a table "
        "with one row of scores per character. Trained on Shakespeare it learns common pairs (“th”, “e ”), "
        "and its loss drops from ln V (a uniform guess over V characters) to about 2.5, but no further: everything "
        "before the current character is invisible to it. Attention exists to let a token use that past."
    )
    st.latex(
        r"P(c_{t+1}\mid c_{\le t}) \approx P(c_{t+1}\mid c_t) = \mathrm{softmax}(L[c_t,:]),\qquad \mathcal L = -\frac1N\sum_t \log P(c_{t+1}\mid c_t)"
    )
    c1, c2 = st.columns(2)
    steps = int(c1.select_slider("Training steps (full-batch Adam)", [25, 50, 100, 200, 400], 200, key="lab_bg_steps"))
    lr = float(c2.select_slider("Learning rate", [0.05, 0.1, 0.2, 0.5], 0.2, key="lab_bg_lr"))
    model = trained_bigram(steps, lr)
    probe = "q"
    next_probs = bigram.next_char_probs(model, probe)
    top = torch.topk(next_probs, 4).indices.tolist()
    options = sorted(shown_token(model.chars[i]) for i in top)
    if not view.predict_gate(
        f"bg:{steps}:{lr}",
        f"after the letter **{probe}**, which character does the bigram think is most likely?",
        options,
        shown_token(model.chars[int(next_probs.argmax())]),
    ):
        return
    a, b, c, d = st.columns(4)
    a.metric("Uniform guess ln V", f"{model.initial_loss:.4f}")
    b.metric("Train loss", f"{model.train_loss:.4f}")
    c.metric("Validation loss", f"{model.val_loss:.4f}")
    d.metric("Best any bigram can do (train)", f"{model.best_train_loss:.4f}")
    st.caption(
        f"Vocabulary: {model.vocab_size} characters of the bundled Shakespeare corpus (first 90 % train, last 10 % "
        "validation). The count table of all pairs is a sufficient statistic, so full-batch training on it is "
        "the same objective as minibatches of pairs, just faster. Validation is higher than training because the last "
        "10 % of this file uses its character pairs differently: even the best bigram fitted to the training part "
        "scores about 2.6 there."
    )
    xs = list(range(1, len(model.loss_curve) + 1))
    view.figure(
        line_chart(
            {"train loss": (xs, list(model.loss_curve))},
            title="Bigram training",
            x_title="step",
            y_title="cross-entropy (nats)",
        ),
        pd.DataFrame({"step": xs, "loss": model.loss_curve}).set_index("step"),
        "bigram_loss",
        "bg_loss",
    )
    st.subheader("Samples")
    c1, c2, c3 = st.columns(3)
    start = c1.text_input("Start with", "ROMEO:", key="lab_bg_start", max_chars=50)
    n_chars = int(c2.slider("Characters", 20, 400, 200, key="lab_bg_n"))
    seed = int(c3.number_input("Seed", 0, 10_000, 0, key="lab_bg_seed"))
    try:
        st.code(bigram.sample(model, start, n_chars, seed), language=None)
    except ValueError as err:
        st.error(f"{md_escape(err)}: use letters and punctuation that occur in Shakespeare.")
    st.subheader("Why it cannot use context")
    c1, c2 = st.columns(2)
    ctx_a = c1.text_input("Context A", "the king", key="lab_bg_a", max_chars=50)
    ctx_b = c2.text_input("Context B", "to sing", key="lab_bg_b", max_chars=50)
    try:
        pa, pb = bigram.next_char_probs(model, ctx_a[-1:] or " "), bigram.next_char_probs(model, ctx_b[-1:] or " ")
    except ValueError as err:
        st.error(f"{md_escape(err)}.")
        return
    order = torch.argsort(pa, descending=True)[:10].tolist()
    labels = [shown_token(model.chars[i]) for i in order]
    df = pd.DataFrame({"after A": pa[order].numpy(), "after B": pb[order].numpy()}, index=labels)
    view.table(df, "bigram_context", "bg_ctx")
    if bigram.same_prediction(model, ctx_a or " ", ctx_b or " "):
        st.info(
            "Both contexts end in the same character, so the bigram gives **identical** predictions, however different the words before it are."
        )
    else:
        st.info(
            "The predictions differ only because the **last** characters differ; change the last characters to match and they become identical."
        )
    view.shapes({"logit table L": model.logits.shape, "one prediction": (model.vocab_size,)})
