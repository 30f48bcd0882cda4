"""Lab 8 view: “Life is short, eat dessert first”, end to end (maths: ``gpt.labs.dessert``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from gpt.labs import Lab, dessert, largest_label
from ui.labs import widgets as view


def render(lab: Lab) -> None:
    st.markdown(
        "A complete miniature pipeline on one sentence: build a dictionary from its words, turn the sentence "
        "into integer IDs, embed each ID as a 3-number vector, then run one attention head. The article "
        f"stops after the embedding and gives no seed; we seed with {dessert.DESSERT_SEED} like the book and keep its sizes "
        "(a 3-dimensional embedding, so 6 words give a 6×3 matrix)."
    )
    sentence = st.text_input("Sentence", dessert.DESSERT_SENTENCE, key="lab_ds_sentence", max_chars=300)
    dc = dessert.build_dictionary(sentence)
    if not dc:
        st.error("Type a sentence with at least one word.")
        return
    words = dessert.words(sentence)
    ids = dessert.sentence_ids(sentence, dc)
    left, right = st.columns(2)
    left.markdown("**Dictionary** (sorted words → index)")
    left.dataframe(pd.DataFrame({"index": list(dc.values())}, index=list(dc.keys())), width="stretch")
    right.markdown("**Sentence as IDs**")
    right.dataframe(pd.DataFrame([ids], columns=words, index=["ID"]), width="stretch")
    c1, c2, c3, c4 = st.columns(4)
    seed = int(c1.number_input("Seed", 0, 10_000, dessert.DESSERT_SEED, key="lab_ds_seed"))
    d_k = int(c2.slider("d_q = d_k", 1, 6, 2, key="lab_ds_dk"))
    d_v = int(c3.slider("d_v", 1, 6, 4, key="lab_ds_dv"))
    causal = c4.checkbox("Causal mask", False, key="lab_ds_causal")
    st.markdown(f"**Embedding matrix** (`nn.Embedding({len(dc)}, 3)` after seed {seed}; edit any cell):")
    emb = view.matrix_editor(
        f"lab_ds_emb_{len(dc)}_{seed}",
        dessert.dessert_embedding(len(dc), seed=seed).tolist(),
        list(dc.keys()),
        ["e0", "e1", "e2"],
        row_title="word",
    )
    if emb is None:
        return
    embedded = view.as_tensor(emb)[torch.tensor(ids)]  # (T, 3): one row per word of the sentence
    att = dessert.dessert_attention(embedded, d_k, d_v, seed=seed, causal=causal)
    labels = [f"{i}: {w}" for i, w in enumerate(words)]
    query = st.selectbox("Query word", labels, index=min(4, len(labels) - 1), key="lab_ds_query")
    qi = labels.index(query)
    if not view.predict_gate(
        f"ds:{view.fingerprint(emb, ids, d_k, seed, causal)}:{qi}",
        f"which word gets the largest weight when **{words[qi]}** is the query?",
        labels,
        largest_label(att.steps.attn_weights[qi].tolist(), labels),
    ):
        return
    st.latex(
        r"Q = X W_q^\top,\; K = X W_k^\top,\; V = X W_v^\top,\qquad Z = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right)V"
    )
    st.markdown("**X**: the embedding row of each word, in sentence order")
    view.table(view.frame(embedded, labels, ["e0", "e1", "e2"]), "dessert_embedded_sentence", "ds_embedded")
    st.markdown("**Q, K, V**")
    qkv = pd.concat(
        [
            view.frame(att.queries, labels, [f"q{j}" for j in range(d_k)]),
            view.frame(att.keys, labels, [f"k{j}" for j in range(d_k)]),
            view.frame(att.values, labels, [f"v{j}" for j in range(d_v)]),
        ],
        axis=1,
    )
    view.table(qkv, "dessert_qkv", "ds_qkv")
    view.matrix_figure(
        att.steps.masked_scores,
        labels,
        labels,
        title="Scaled scores Q Kᵀ / √d_k",
        name="dessert_scores",
        key="ds_scores",
        kind="scores",
    )
    view.matrix_figure(
        att.steps.attn_weights, labels, labels, title="Attention weights", name="dessert_weights", key="ds_weights"
    )
    view.table(view.frame(att.steps.context_vec, labels, [f"z{j}" for j in range(d_v)]), "dessert_context", "ds_z")
    view.shapes(
        {
            "IDs": (len(ids),),
            "embedding": (len(dc), 3),
            "X": embedded.shape,
            "W_q": att.w_query.shape,
            "W_v": att.w_value.shape,
            "weights": att.steps.attn_weights.shape,
            "Z": att.steps.context_vec.shape,
        }
    )
