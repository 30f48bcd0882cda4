"""Lab 2 view: the embedding layer is a lookup (maths: ``gpt.labs.embedding``)."""

from __future__ import annotations

import streamlit as st

from gpt.labs import Lab, embedding
from ui.labs import widgets as view
from ui.text import md_escape


def render(lab: Lab) -> None:
    st.markdown(
        "An embedding layer stores one row of numbers per token ID. Embedding a token just fetches its "
        "row. The same thing can be written as a matrix product: a one-hot row (all zeros, a 1 at the ID) "
        "times the weight matrix picks out exactly that row. The lookup is the fast way to do it."
    )
    st.latex(r"\mathrm{Embedding}(i) = W[i,:] = e_i^\top W,\qquad W \in \mathbb{R}^{V\times d}")
    c1, c2, c3 = st.columns(3)
    vocab = int(c1.number_input("Vocabulary size V", 1, 50, embedding.BOOK_VOCAB_SIZE, key="lab_emb_vocab"))
    dim = int(c2.number_input("Embedding size d", 1, 16, embedding.BOOK_DIM, key="lab_emb_dim"))
    seed = int(c3.number_input("Seed", 0, 10_000, embedding.BOOK_SEED, key="lab_emb_seed"))
    st.markdown("**Token IDs to embed** (edit them):")
    ids = view.id_editor("lab_emb_ids", embedding.BOOK_IDS)
    if ids is None:
        return
    weight = embedding.embedding_weights(vocab, dim, seed)
    try:
        res = embedding.lookup(weight, ids)
    except ValueError as err:
        st.error(f"{md_escape(err)}. Use IDs between 0 and {vocab - 1} or enlarge the vocabulary.")
        return
    if not view.predict_gate(
        f"emb:{view.fingerprint(ids, vocab)}",
        f"which row of W does token ID **{ids[0]}** return?",
        [f"row {i}" for i in range(vocab)],
        f"row {ids[0]}",
        "Rows are numbered from 0, so ID i is row i.",
    ):
        return
    dcols = [f"d{j}" for j in range(dim)]
    st.markdown(f"**Weight matrix W** of `nn.Embedding({vocab}, {dim})` after `torch.manual_seed({seed})`")
    view.table(view.frame(weight, [f"row {i}" for i in range(vocab)], dcols), "embedding_weight", "emb_w")
    if embedding.is_book_example(vocab, dim, seed):
        book = embedding.BOOK_WEIGHTS
        st.caption(f"The book prints the same {len(book)}×{len(book[0])} matrix (first row {view.printed(book[0])}).")
    id_rows = [f"ID {i}" for i in ids]
    view.matrix_figure(
        res.one_hot,
        id_rows,
        [str(i) for i in range(vocab)],
        title="One-hot rows",
        name="embedding_one_hot",
        key="emb_onehot",
        row_title="token",
        col_title="vocabulary index",
    )
    left, right = st.columns(2)
    with left:
        st.markdown("**Lookup W[ids]**")
        view.table(view.frame(res.looked_up, id_rows, dcols), "embedding_lookup", "emb_lookup")
    with right:
        st.markdown("**One-hot @ W**")
        view.table(view.frame(res.via_matmul, id_rows, dcols), "embedding_matmul", "emb_matmul")
    st.metric("Largest difference between the two", f"{res.max_abs_diff:.1e}")
    view.shapes(
        {"ids": (len(ids),), "W": weight.shape, "one-hot": res.one_hot.shape, "embeddings": res.looked_up.shape}
    )
