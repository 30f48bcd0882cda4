"""Labs: the famous worked examples, live. Edit an input cell and every number below recomputes.

The arithmetic lives in ``gpt.labs`` (one module per lab, unit-tested against the sources'
printed numbers); this page reads widgets and draws tables and figures. The chosen lab is in
the URL (``?lab=fox``) so a teacher can link straight to it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import streamlit as st
import torch

from gpt import TokenPiece
from gpt.analysis import shown_token
from gpt.catalog import DEFAULT_CORPUS
from gpt.labs import (
    LABS,
    Lab,
    averaging,
    bigram,
    dessert,
    embedding,
    fox,
    journey,
    lab_by_id,
    positional,
    scaling,
    sliding_window,
)
from gpt.labs.predict import largest_label
from gpt.tokenizers import get_tokenizer
from ui import labs_view as view
from ui import state
from ui.chips import chips_html
from ui.figures import bar_chart, heatmap, histogram, line_chart

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)

LAB_KEY = "labs_lab"


def fingerprint(*parts: object) -> str:
    """Short id of the current inputs: an edited example becomes a new predict question."""
    blob = repr([np.asarray(p).round(6).tolist() if hasattr(p, "__array__") else p for p in parts])
    return hashlib.sha1(blob.encode()).hexdigest()[:10]


def choose_lab() -> Lab:
    ids = [lab.lab_id for lab in LABS]
    if LAB_KEY not in st.session_state:
        st.session_state[LAB_KEY] = lab_by_id(st.query_params.get("lab")).lab_id
    lab_id = st.selectbox("Choose a lab", ids, format_func=lambda i: lab_by_id(i).title, key=LAB_KEY)
    if st.query_params.get("lab") != lab_id:
        st.query_params["lab"] = lab_id  # a shareable link to this lab
    return lab_by_id(lab_id)


def as_tensor(values: np.ndarray) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


# ---- lab 1 ---------------------------------------------------------------------------------------


def lab_journey(lab: Lab) -> None:
    st.markdown(
        "Six words, each already turned into a 3-number vector. Self-attention gives every word a new "
        "vector, its **context vector**: a weighted average of all six inputs, where the weights say how "
        "relevant each word is to it. Edit any number and watch every stage change."
    )
    tokens = list(journey.JOURNEY_TOKENS)
    values = view.matrix_editor("lab_journey_inputs", journey.JOURNEY_INPUTS, tokens, ["x1", "x2", "x3"])
    if values is None:
        return
    x = as_tensor(values)
    is_book = np.allclose(values, np.asarray(journey.JOURNEY_INPUTS))
    query_index = tokens.index(st.selectbox("Query token", tokens, index=1, key="lab_journey_query"))
    qv = journey.query_view(x, query_index)
    q_tok = tokens[query_index]
    answer = largest_label(qv.attn_weights.tolist(), tokens)
    if not view.predict_gate(
        f"journey:{query_index}:{fingerprint(values)}",
        f"which token gets the **largest attention weight** when “{q_tok}” is the query?",
        tokens,
        answer,
        "The largest dot product wins, and a word's vector usually lines up best with itself or a near twin.",
    ):
        return
    tab_simple, tab_trainable, tab_causal, tab_heads = st.tabs(
        ["3.3 No trainable weights", "3.4 Trainable W_q, W_k, W_v", "3.5 Causal mask and dropout", "3.6 Two heads"]
    )
    with tab_simple:
        simple_attention(x, tokens, qv, q_tok, is_book and query_index == 1)
    with tab_trainable:
        trainable_attention(x, tokens)
    with tab_causal:
        causal_and_dropout(x, tokens)
    with tab_heads:
        two_heads(x, tokens)


def simple_attention(x: torch.Tensor, tokens: list[str], qv: journey.QueryView, q_tok: str, book: bool) -> None:
    st.subheader("1. Scores: one dot product per token")
    st.latex(r"\omega_{i} = x^{(q)} \cdot x^{(i)} = \sum_{j} x^{(q)}_j\, x^{(i)}_j")
    st.markdown(
        "A dot product is large when two vectors point the same way, so it works as a similarity score. "
        "Then the scores are normalised so that they add up to 1. Dividing by their sum does that, but "
        "softmax is what attention uses: it is always positive, and it stretches the gaps between scores."
    )
    st.latex(
        r"\alpha_i = \frac{\omega_i}{\sum_j \omega_j}\quad\text{vs.}\quad \alpha_i = \mathrm{softmax}(\omega)_i = \frac{e^{\omega_i}}{\sum_j e^{\omega_j}}"
    )
    rows = {"score ω": qv.attn_scores, "divided by sum": qv.naive_weights, "softmax α": qv.attn_weights}
    df = pd.DataFrame({k: v.tolist() for k, v in rows.items()}, index=tokens).T
    if book:
        df.loc["book: score"] = [0.9544, 1.4950, 1.4754, 0.8434, 0.7070, 1.0865]
        df.loc["book: softmax"] = [0.1385, 0.2379, 0.2333, 0.1240, 0.1082, 0.1581]
        st.success("These are the book's inputs and query: compare the rows marked “book” digit by digit.")
    view.table(df, f"journey_scores_query_{q_tok}", "journey_scores")
    view.shapes({"inputs": x.shape, "query": qv.context_vec.shape, "scores ω": qv.attn_scores.shape})

    st.subheader("2. Why not exp(x) / sum exp(x) literally?")
    st.markdown(
        "Taken literally, softmax computes e^ω first. In 32-bit floats e^ω overflows to infinity once ω "
        "passes about 88.7, and ∞/∞ is *not a number*. Library softmax first subtracts the largest score "
        "(which does not change the result) so nothing overflows. Scale the scores up to see it happen."
    )
    factor = st.slider("Multiply the scores by", 1.0, 200.0, 1.0, 1.0, key="lab_journey_factor")
    demo = journey.overflow_demo(qv.attn_scores, factor)
    odf = pd.DataFrame(
        {
            "scores × factor": demo.big_scores.tolist(),
            "naive softmax": demo.naive.tolist(),
            "torch.softmax": demo.stable.tolist(),
        },
        index=tokens,
    ).T
    view.table(odf, "journey_overflow", "journey_overflow")
    if demo.overflowed:
        st.error("The naive version overflowed (nan); torch.softmax is still fine and sums to 1.")
    else:
        st.info("No overflow yet: both give the same weights. Try a factor above ~60.")

    st.subheader(f"3. The context vector of “{q_tok}”")
    st.latex(r"z^{(q)} = \sum_i \alpha_i\, x^{(i)}")
    view.table(view.frame(qv.context_vec, [f"z ({q_tok})"], ["z1", "z2", "z3"]), "journey_context_vector", "journey_z")
    if book:
        st.caption("The book prints z(2) = [0.4419, 0.6515, 0.5683].")

    st.subheader("4. Every token as the query at once")
    st.latex(r"A = \mathrm{softmax}_{\text{rows}}(X X^\top),\qquad Z = A X")
    steps = journey.simplified_steps(x)
    view.matrix_figure(
        steps.attn_weights,
        tokens,
        tokens,
        title="Attention weights softmax(X Xᵀ)",
        name="journey_all_weights",
        key="journey_all",
    )
    view.table(view.frame(steps.context_vec, tokens, ["z1", "z2", "z3"]), "journey_all_context", "journey_all_z")
    view.shapes(
        {"X": x.shape, "X Xᵀ": steps.raw_scores.shape, "A": steps.attn_weights.shape, "Z": steps.context_vec.shape}
    )


def trainable_attention(x: torch.Tensor, tokens: list[str]) -> None:
    st.markdown(
        "Real attention does not compare the raw inputs. Three learned matrices project every input into a "
        "**query** (what this token looks for), a **key** (what it offers to be found by) and a **value** "
        "(what it hands over). The book draws them with `torch.rand` after `torch.manual_seed(123)`."
    )
    st.latex(
        r"Q = X W_q,\; K = X W_k,\; V = X W_v,\qquad Z = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) V"
    )
    c1, c2 = st.columns(2)
    seed = int(c1.number_input("Seed", 0, 10_000, journey.BOOK_RAND_SEED, key="lab_journey_seed"))
    d_out = int(c2.slider("d_out (size of q, k, v)", 1, 6, 2, key="lab_journey_dout"))
    w = journey.rand_qkv_weights(x.shape[1], d_out, seed)
    proj = journey.project_and_attend(x, w, causal=False)
    cols = [f"d{j}" for j in range(d_out)]
    for col, (name, mat) in zip(st.columns(3), [("W_q", w.w_query), ("W_k", w.w_key), ("W_v", w.w_value)]):
        with col:
            st.markdown(f"**{name}**")
            view.table(view.frame(mat, ["x1", "x2", "x3"], cols), f"journey_{name}", f"journey_{name}")
    qkv = pd.concat(
        [
            view.frame(proj.queries, tokens, [f"q_{c}" for c in cols]),
            view.frame(proj.keys, tokens, [f"k_{c}" for c in cols]),
            view.frame(proj.values, tokens, [f"v_{c}" for c in cols]),
        ],
        axis=1,
    )
    view.table(qkv, "journey_qkv", "journey_qkv")
    if seed == journey.BOOK_RAND_SEED and d_out == 2 and np.allclose(x.numpy(), np.asarray(journey.JOURNEY_INPUTS)):
        st.caption(
            "Book check: query of “journey” = [0.4306, 1.4551]; its scores [1.2705, 1.8524, 1.8111, 1.0795, 0.5577, "
            "1.5440]; weights [0.1500, 0.2264, 0.2199, 0.1311, 0.0906, 0.1820]; context [0.3061, 0.8210]."
        )
    view.matrix_figure(
        proj.steps.raw_scores,
        tokens,
        tokens,
        title="Scores Q Kᵀ",
        name="journey_qk_scores",
        key="journey_qk",
        kind="scores",
    )
    view.matrix_figure(
        proj.steps.attn_weights,
        tokens,
        tokens,
        title=f"Weights softmax(Q Kᵀ / √{d_out})",
        name="journey_qk_weights",
        key="journey_qkw",
    )
    view.table(
        view.frame(proj.steps.context_vec, tokens, [f"z_{c}" for c in cols]), "journey_trainable_context", "journey_tz"
    )
    view.shapes(
        {
            "X": x.shape,
            "W_q": w.w_query.shape,
            "Q, K, V": proj.queries.shape,
            "Q Kᵀ": proj.steps.raw_scores.shape,
            "Z": proj.steps.context_vec.shape,
        }
    )


def causal_and_dropout(x: torch.Tensor, tokens: list[str]) -> None:
    st.markdown(
        "A language model predicts the next token, so a token may only look at itself and earlier tokens. "
        "The book (sect. 3.5, with `nn.Linear` weights from seed 789) hides the future in two ways: set the "
        "future weights to 0 and renormalise each row, or put −∞ into the future scores before softmax "
        "(e^−∞ = 0). Both give the same matrix, because softmax ignores a constant shift within a row."
    )
    st.latex(
        r"\text{mask}_{ij} = \begin{cases} 0 & j \le i \\ -\infty & j > i \end{cases},\qquad A = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}} + \text{mask}\right)"
    )
    seed = int(
        st.number_input("Seed for the nn.Linear weights", 0, 10_000, journey.BOOK_LINEAR_SEED, key="lab_journey_lseed")
    )
    (w,) = journey.linear_qkv_weights(x.shape[1], 2, seed)
    cmp = journey.causal_two_ways(journey.project_and_attend(x, w, causal=False))
    left, right = st.columns(2)
    with left:
        view.matrix_figure(
            cmp.renormalised,
            tokens,
            tokens,
            title="Zero the future, renormalise rows",
            name="journey_causal_renorm",
            key="journey_renorm",
        )
    with right:
        view.matrix_figure(
            cmp.minus_inf_way, tokens, tokens, title="−∞ before softmax", name="journey_causal_inf", key="journey_inf"
        )
    a, b = st.columns(2)
    a.metric("Largest difference between the two", f"{cmp.max_abs_diff:.2e}")
    b.markdown(
        "**Row sums after zeroing only** (before renormalising): "
        + ", ".join(f"{s:.4f}" for s in cmp.zeroed.sum(-1).tolist())
    )
    if cmp.max_abs_diff < 1e-6:
        st.success("The two ways agree to float32 precision.")

    st.subheader("Dropout on the attention weights")
    st.markdown(
        "During training, dropout zeroes each weight with probability p and multiplies the survivors by "
        "1/(1−p), so the expected total stays the same. It is switched off when the model is used."
    )
    c1, c2 = st.columns(2)
    p = c1.slider("Dropout rate p", 0.0, 0.9, 0.5, 0.05, key="lab_journey_p")
    dseed = int(c2.number_input("Dropout seed", 0, 10_000, journey.BOOK_DROPOUT_SEED, key="lab_journey_dseed"))
    dropped = journey.dropout_weights(cmp.minus_inf_way, p, dseed)
    view.matrix_figure(
        dropped,
        tokens,
        tokens,
        title=f"Causal weights after dropout (p = {p:.2f})",
        name="journey_dropout",
        key="journey_drop",
    )
    st.caption(
        "Book check (p = 0.5, seed 123, book's inputs): row “starts” becomes [0.7599, 0.6194, 0.6206, 0, 0, 0]; "
        "on a 6×6 matrix of ones the first row becomes 2 2 0 2 2 0."
    )
    view.shapes(
        {"mask": (len(tokens), len(tokens)), "weights": cmp.minus_inf_way.shape, "after dropout": dropped.shape}
    )


def two_heads(x: torch.Tensor, tokens: list[str]) -> None:
    st.markdown(
        "Several heads run side by side, each with its own W_q, W_k, W_v, and their context vectors are "
        "placed next to each other. Each head can learn to look for something different. The book's "
        "wrapper (seed 123, d_out = 2, two heads) gives a 6×4 result."
    )
    st.latex(
        r"Z = [\,Z^{(1)} \mid Z^{(2)} \mid \dots\,],\qquad Z^{(h)} = \mathrm{softmax}\!\left(\frac{Q^{(h)}K^{(h)\top}}{\sqrt{d_k}} + \text{mask}\right)V^{(h)}"
    )
    c1, c2, c3 = st.columns(3)
    n_heads = int(c1.slider("Heads", 1, 4, 2, key="lab_journey_heads"))
    d_out = int(c2.slider("d_out per head", 1, 4, 2, key="lab_journey_hd"))
    seed = int(c3.number_input("Seed", 0, 10_000, journey.BOOK_HEADS_SEED, key="lab_journey_hseed"))
    mh = journey.multi_head(x, d_out, n_heads, seed)
    cols = [f"h{h}_z{j}" for h in range(n_heads) for j in range(d_out)]
    view.table(view.frame(mh.context_vec, tokens, cols), "journey_heads_context", "journey_heads_z")
    if (n_heads, d_out, seed) == (2, 2, journey.BOOK_HEADS_SEED) and np.allclose(
        x.numpy(), np.asarray(journey.JOURNEY_INPUTS)
    ):
        st.caption(
            "Book check: the first row is [−0.4519, 0.2216, 0.4772, 0.1063] and the last [−0.5299, −0.1081, 0.5077, 0.3493]."
        )
    for col, (h, head) in zip(st.columns(min(n_heads, 2)) * 2, enumerate(mh.heads)):
        with col:
            view.matrix_figure(
                head.steps.attn_weights,
                tokens,
                tokens,
                title=f"Head {h} weights",
                name=f"journey_head{h}",
                key=f"journey_head{h}",
            )
    view.shapes({"per head Z": mh.heads[0].steps.context_vec.shape, "concatenated Z": mh.context_vec.shape})


# ---- lab 2 ---------------------------------------------------------------------------------------


def lab_embedding(lab: Lab) -> None:
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
        st.error(f"{err}. Use IDs between 0 and {vocab - 1} or enlarge the vocabulary.")
        return
    if not view.predict_gate(
        f"emb:{fingerprint(ids, vocab)}",
        f"which row of W does token ID **{ids[0]}** return?",
        [f"row {i}" for i in range(vocab)],
        f"row {ids[0]}",
        "Rows are numbered from 0, so ID i is row i.",
    ):
        return
    dcols = [f"d{j}" for j in range(dim)]
    st.markdown(f"**Weight matrix W** of `nn.Embedding({vocab}, {dim})` after `torch.manual_seed({seed})`")
    view.table(view.frame(weight, [f"row {i}" for i in range(vocab)], dcols), "embedding_weight", "emb_w")
    if (vocab, dim, seed) == (6, 3, 123):
        st.caption("The book prints the same 6×3 matrix (first row 0.3374, −0.1778, −0.1690).")
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


# ---- lab 3 ---------------------------------------------------------------------------------------


def lab_sliding_window(lab: Lab) -> None:
    st.markdown(
        "To train next-token prediction, a long token stream is cut into fixed-length inputs. The target "
        "for each input is the same window moved one token to the right: at every position, the model "
        "must predict the token that comes next. The **stride** is how far the window moves between "
        "samples: smaller than `max_length` means samples overlap; equal means every token is used once."
    )
    st.latex(r"x = t_{s},\dots,t_{s+L-1},\qquad y = t_{s+1},\dots,t_{s+L},\qquad s = 0, S, 2S, \dots")
    text = st.text_area("Text", sliding_window.VERDICT_OPENING, key="lab_sw_text", max_chars=5000)
    c1, c2, c3 = st.columns(3)
    kind = c1.radio("Tokenizer", ["gpt2", "char"], horizontal=True, key="lab_sw_tok")
    max_length = int(c2.slider("max_length L", 1, 16, 4, key="lab_sw_len"))
    stride = int(c3.slider("stride S", 1, 16, 1, key="lab_sw_stride"))
    tok = get_tokenizer(kind, text) if kind == "char" else get_tokenizer("gpt2")
    ids = tok.encode(text)
    pairs = sliding_window.sliding_windows(ids, max_length, stride)
    if not pairs:
        st.warning(f"The text has {len(ids)} tokens; a window needs at least L + 1 = {max_length + 1}.")
        return
    if not view.predict_gate(
        f"sw:{max_length}:{stride}",
        f"with L = {max_length} and S = {stride}, how many tokens do two consecutive inputs share?",
        [str(i) for i in range(max_length + 1)],
        str(sliding_window.overlap(max_length, stride)),
        "Consecutive windows start S apart, so they share L − S tokens (none once S ≥ L).",
    ):
        return
    a, b, c = st.columns(3)
    a.metric("Tokens in the text", len(ids))
    b.metric("Input/target pairs", len(pairs))
    c.metric("Overlap between neighbours", f"{sliding_window.overlap(max_length, stride)} tokens")
    if stride == max_length:
        st.success("stride = max_length: no overlap and no gap, each token appears in exactly one input.")
    elif stride > max_length:
        st.warning(
            f"stride > max_length: {sliding_window.skipped(max_length, stride)} tokens between windows are never used as input."
        )
    shown = pairs[:6]
    for pair in shown:
        st.html(
            f"<div><b>#{pair.start}</b> input&nbsp;{_chips(tok, pair.input_ids)} → target&nbsp;{_chips(tok, pair.target_ids)}</div>"
        )
    if len(pairs) > len(shown):
        st.caption(f"First {len(shown)} of {len(pairs)} pairs shown as chips; the tables hold all of them.")
    cols = [f"t{j}" for j in range(max_length)]
    idx = [f"start {p.start}" for p in pairs]
    left, right = st.columns(2)
    with left:
        st.markdown("**inputs** (ID tensor)")
        view.table(pd.DataFrame([p.input_ids for p in pairs], index=idx, columns=cols), "window_inputs", "sw_in")
    with right:
        st.markdown("**targets** (ID tensor)")
        view.table(pd.DataFrame([p.target_ids for p in pairs], index=idx, columns=cols), "window_targets", "sw_out")
    if kind == "gpt2" and text == sliding_window.VERDICT_OPENING and max_length == 4 and stride in (1, 4):
        st.caption("Book check: the first input is [40, 367, 2885, 1464] and its target [367, 2885, 1464, 1807].")
    view.shapes({"inputs": (len(pairs), max_length), "targets": (len(pairs), max_length)})


def _chips(tok, ids: tuple[int, ...]) -> str:
    pieces = [TokenPiece(i, tok.token_text(i), 0, 0) for i in ids]
    return chips_html(pieces).replace("<div", "<span").replace("</div>", "</span>")


# ---- lab 4 ---------------------------------------------------------------------------------------


def lab_fox(lab: Lab) -> None:
    st.markdown(
        "The article first makes words position-aware in the simplest possible way: a one-hot vector per "
        "word plus a constant vector per position (0.1 for the first word, 0.2 for the second, ...). "
        "Then it takes made-up query and key vectors for “The quick brown fox jumps over the lazy dog” "
        "and lets “fox” attend. We redo its arithmetic exactly."
    )
    st.subheader("One-hot words + toy positions")
    step = st.number_input("Position step", 0.0, 1.0, fox.TOY_POSITION_STEP, 0.05, key="lab_fox_step")
    toy = fox.toy_positions(len(fox.FOUR_WORDS), step)
    words = [f"{w} (pos {i})" for i, w in enumerate(fox.FOUR_WORDS)]
    cols = list(fox.FOUR_WORDS)
    view.table(
        pd.concat(
            {
                "one-hot": view.frame(toy.one_hot, words, cols),
                "+ position": view.frame(toy.positions, words, cols),
                "= input": view.frame(toy.combined, words, cols),
            },
            axis=1,
        ),
        "fox_toy_positions",
        "fox_toy",
    )
    st.caption(
        "Note how weak this is: the position adds the same amount to every dimension, so it barely changes directions."
    )

    st.subheader("The “fox” query")
    st.latex(
        r"\omega_i = q_{\text{fox}} \cdot k_i,\qquad \alpha = \mathrm{softmax}(\omega),\qquad z_{\text{fox}} = \sum_i \alpha_i v_i"
    )
    tokens = list(fox.FOX_TOKENS)
    dims = [f"d{j}" for j in range(4)]
    st.markdown("**Query of “fox”** (edit any cell):")
    q = view.matrix_editor("lab_fox_query", [fox.FOX_QUERY], ["q (fox)"], dims, row_title="vector")
    left, right = st.columns(2)
    with left:
        st.markdown("**Keys** (from the article)")
        k = view.matrix_editor("lab_fox_keys", fox.FOX_KEYS, tokens, dims)
    with right:
        st.markdown("**Values**: the article never gives them, so they start as a copy of the keys")
        v = view.matrix_editor("lab_fox_values", fox.FOX_KEYS, tokens, dims)
    if q is None or k is None or v is None:
        return
    scale = st.checkbox("Divide by √d (the article does not)", False, key="lab_fox_scale")
    res = fox.fox_query(q[0], k, v, scale=scale)
    n_right = int(sum(abs(e) < 1e-9 for e in res.score_error.tolist()))
    if not view.predict_gate(
        f"fox:{fingerprint(q, k)}",
        "how many of the article's nine printed dot products are arithmetically right?",
        [str(i) for i in range(10)],
        str(n_right),
        "Redo one by hand: q·k_The = 0.02 + 0.06 + 0.03 + 0.16 = 0.27, printed as 0.28.",
    ):
        return
    df = pd.DataFrame(
        {
            "exact score": res.attn_scores.tolist(),
            "article prints": list(fox.ARTICLE_SCORES),
            "printed − exact": res.score_error.tolist(),
            "softmax (exact)": res.attn_weights.tolist(),
            "article's weight": list(fox.ARTICLE_WEIGHTS),
            "softmax of printed scores": res.weights_of_printed_scores.tolist(),
        },
        index=tokens,
    )
    view.table(df, "fox_query", "fox_table")
    wrong = [t for t, e in zip(tokens, res.score_error.tolist()) if abs(e) > 1e-9]
    if wrong:
        st.warning(
            f"**The article's arithmetic does not hold for {len(wrong)} of 9 scores** ({', '.join(wrong)}): "
            f"its own sums give the “exact score” column. Its nine printed weights add up to "
            f"{res.printed_weights_sum:.2f}, not 1; softmax of near-equal scores gives about 1/9 ≈ 0.111 each. "
            "The lesson survives: with scores this close, attention is almost uniform."
        )
    view.figure(
        bar_chart(tokens, res.attn_weights.tolist(), title="Exact softmax weights of “fox”", numbered=False),
        df[["softmax (exact)"]],
        "fox_weights",
        "fox_bar",
    )
    view.table(view.frame(res.context_vec, ["z (fox)"], dims), "fox_context", "fox_z")
    view.shapes({"q": (4,), "K": k.shape, "V": v.shape, "scores": res.attn_scores.shape, "z": res.context_vec.shape})


# ---- lab 5 ---------------------------------------------------------------------------------------


def lab_averaging(lab: Lab) -> None:
    st.markdown(
        "The simplest way for a token to use its past is to average all vectors up to and including "
        "itself. Karpathy writes it three ways: a double loop, a matrix product with a lower-triangular "
        "matrix whose rows sum to 1, and a softmax over a score matrix that is 0 for the past and −∞ for "
        "the future. The third form is attention with all scores equal; letting queries and keys set the "
        "scores makes the averaging **depend on the data**."
    )
    st.latex(
        r"\bar x_t = \frac{1}{t+1}\sum_{s\le t} x_s \;=\; (W x)_t,\quad W = \mathrm{softmax}\big(\text{mask}(0)\big) = \mathrm{rownorm}(\mathrm{tril}(\mathbf 1))"
    )
    x0 = averaging.karpathy_x()[0]
    positions = [f"t{t}" for t in range(x0.shape[0])]
    st.markdown("**x** (batch 0 of `torch.manual_seed(1337); torch.randn(4, 8, 2)`, edit any cell):")
    values = view.matrix_editor("lab_avg_x", x0.tolist(), positions, ["c0", "c1"], row_title="position")
    if values is None:
        return
    x = as_tensor(values)
    if not view.predict_gate(
        "avg:row4",
        "in the averaging matrix, what weight does row t4 give to each of t0…t4?",
        ["1/8", "1/5", "1/4", "1/2"],
        "1/5",
        "Row t4 averages five vectors (t0 to t4), so each gets 1/5 and the future gets 0.",
    ):
        return
    ways = averaging.three_ways(x)
    df = pd.concat(
        {
            "loop": view.frame(ways.loop, positions, ["c0", "c1"]),
            "tril matmul": view.frame(ways.matmul, positions, ["c0", "c1"]),
            "masked softmax": view.frame(ways.softmax, positions, ["c0", "c1"]),
        },
        axis=1,
    )
    view.table(df, "averaging_three_ways", "avg_three")
    a, b = st.columns(2)
    a.metric("torch.allclose on all three", str(ways.all_close))
    b.metric("Largest difference", f"{ways.max_abs_diff:.1e}")
    view.matrix_figure(
        ways.weights,
        positions,
        positions,
        title="Averaging weights (same for all three)",
        name="averaging_weights",
        key="avg_w",
    )

    st.subheader("Data-dependent weights: one head")
    st.latex(
        r"W = \mathrm{softmax}\!\left(\mathrm{mask}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right)\right),\quad Q = xW_q,\; K = xW_k"
    )
    c1, c2, c3 = st.columns(3)
    head_size = int(c1.slider("Head size", 1, 16, 16, key="lab_avg_hs"))
    seed = int(c2.number_input("Seed", 0, 10_000, averaging.KARPATHY_SEED, key="lab_avg_seed"))
    scale = c3.checkbox("Scale by 1/√head size", False, key="lab_avg_scale")
    demo = averaging.head_on(x, head_size, seed=seed, scale=scale)
    view.matrix_figure(
        demo.steps.attn_weights,
        positions,
        positions,
        title="Weights of one head on your x",
        name="averaging_head_weights",
        key="avg_head",
    )
    st.caption("Edit x above: these weights change, while the plain average's weights never do.")
    lecture = averaging.karpathy_head(seed=seed, head_size=head_size, scale=scale)
    view.matrix_figure(
        lecture.steps.attn_weights[0],
        positions,
        positions,
        title="The lecture's own setup: x = randn(4, 8, 32), batch 0",
        name="averaging_lecture_weights",
        key="avg_lecture",
    )
    if seed == averaging.KARPATHY_SEED and head_size == 16 and not scale:
        st.caption("Lecture check: row t1 = [0.1574, 0.8426], row t2 = [0.2088, 0.1646, 0.6266].")
    view.shapes(
        {
            "x": x.shape,
            "Q, K, V": demo.queries.shape,
            "weights": demo.steps.attn_weights.shape,
            "out": demo.steps.context_vec.shape,
        }
    )


# ---- lab 6 ---------------------------------------------------------------------------------------


def lab_scaling(lab: Lab) -> None:
    st.markdown(
        "If the entries of q and k are independent with mean 0 and variance 1, each product q_j k_j has "
        "variance 1 and q·k adds d_k of them: its variance is d_k. Big heads would produce big scores, and "
        "softmax of big scores is nearly one-hot, with almost zero gradient for everything else. Dividing "
        "by √d_k brings the variance back to 1."
    )
    st.latex(
        r"\mathrm{Var}(q\cdot k) = \sum_{j=1}^{d_k}\mathrm{Var}(q_j k_j) = d_k,\qquad \mathrm{Var}\!\left(\frac{q\cdot k}{\sqrt{d_k}}\right) = 1"
    )
    c1, c2, c3 = st.columns(3)
    head_size = int(c1.select_slider("Head size d_k", [1, 2, 4, 8, 16, 32, 64, 128, 256], 16, key="lab_sc_hs"))
    n = int(c2.select_slider("Samples", [1000, 5000, 10000, 50000], 10000, key="lab_sc_n"))
    seed = int(c3.number_input("Seed", 0, 10_000, 0, key="lab_sc_seed"))
    options = sorted({"1", f"{head_size**0.5:g}", str(head_size), str(head_size**2)}, key=float)
    if not view.predict_gate(
        f"scale:{head_size}",
        f"with d_k = {head_size}, roughly what is the variance of q·k **before** scaling?",
        options,
        str(head_size),
        "It is a sum of d_k independent unit-variance products.",
    ):
        return
    sample = scaling.score_sample(head_size, n, seed)
    a, b = st.columns(2)
    a.metric("Variance of q·k", f"{sample.var_raw:.4f}")
    b.metric("Variance of q·k / √d_k", f"{sample.var_scaled:.4f}")
    view.figure(
        histogram(
            {"q·k": sample.raw_scores.tolist(), "q·k / √d_k": sample.scaled_scores.tolist()},
            title=f"Scores of {n} random pairs, d_k = {head_size}",
            x_title="score",
        ),
        pd.DataFrame({"q·k": sample.raw_scores.numpy(), "scaled": sample.scaled_scores.numpy()}),
        "scaling_histogram",
        "sc_hist",
    )
    sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    curve = scaling.variance_curve(sizes, min(n, 10000), seed)
    view.figure(
        line_chart(
            {"raw": (sizes, [s.var_raw for s in curve]), "scaled": (sizes, [s.var_scaled for s in curve])},
            title="Variance against head size",
            x_title="d_k",
            y_title="variance",
        ),
        pd.DataFrame(
            {"d_k": sizes, "var raw": [s.var_raw for s in curve], "var scaled": [s.var_scaled for s in curve]}
        ).set_index("d_k"),
        "scaling_variance_curve",
        "sc_curve",
    )
    view.shapes({"q, k": (n, head_size), "scores": (n,)})

    st.subheader("Softmax sharpens as scores grow")
    st.latex(r"\mathrm{softmax}(c\,\omega)\to\text{one-hot as } c\to\infty")
    scores = view.matrix_editor(
        "lab_sc_scores", [scaling.KARPATHY_SCORES], ["scores"], [f"s{i}" for i in range(5)], row_title=""
    )
    if scores is None:
        return
    factor = st.slider("Multiply by", 1.0, 16.0, 8.0, 0.5, key="lab_sc_factor")
    soft, sharp = scaling.sharpen(scores[0], 1.0), scaling.sharpen(scores[0], factor)
    df = pd.DataFrame(
        {"softmax(ω)": soft.tolist(), f"softmax({factor:g}·ω)": sharp.tolist()}, index=[f"s{i}" for i in range(5)]
    ).T
    df["entropy (bits)"] = [scaling.entropy_bits(soft), scaling.entropy_bits(sharp)]
    view.table(df, "scaling_sharpening", "sc_sharp")
    st.caption(
        "With the lecture's scores and ×8 the weights are [0.0326, 0.0030, 0.1615, 0.0030, 0.8000]: one key takes "
        "almost all the weight, and the others receive almost no gradient."
    )


# ---- lab 7 ---------------------------------------------------------------------------------------


def lab_positional(lab: Lab) -> None:
    st.markdown(
        "The original Transformer adds a fixed pattern to each position: pairs of columns hold a sine and a "
        "cosine of the position, each pair at its own frequency, fast in the first columns and very slow "
        "in the last. Because sin and cos of a sum expand into sin and cos of the parts, moving k positions "
        "forward is the same rotation of every pair, whatever the starting position. So PE(pos+k) is a fixed "
        "linear map of PE(pos), which is what the paper hoped would make relative positions easy to use."
    )
    st.latex(
        r"PE_{pos,2i} = \sin(\omega_i\, pos),\quad PE_{pos,2i+1} = \cos(\omega_i\, pos),\quad \omega_i = 10000^{-2i/d}"
    )
    st.latex(
        r"\begin{pmatrix}\sin\omega_i(p+k)\\ \cos\omega_i(p+k)\end{pmatrix} = \begin{pmatrix}\cos\omega_i k & \sin\omega_i k\\ -\sin\omega_i k & \cos\omega_i k\end{pmatrix}\begin{pmatrix}\sin\omega_i p\\ \cos\omega_i p\end{pmatrix}"
    )
    c1, c2, c3 = st.columns(3)
    n_pos = int(c1.slider("Positions", 4, 128, 50, key="lab_pe_n"))
    d_model = int(c2.select_slider("Embedding size d", [2, 4, 8, 16, 32, 64, 128], 16, key="lab_pe_d"))
    offset = int(c3.slider("Offset k", 0, n_pos - 1, min(3, n_pos - 1), key="lab_pe_k"))
    if not view.predict_gate(
        "pe:fastest",
        "which columns change fastest as the position grows?",
        ["the first columns", "the last columns", "all the same"],
        "the first columns",
        "ω_i shrinks with i: column pair 0 turns by 1 radian per position, the last pair hardly moves.",
    ):
        return
    pe = positional.pe_matrix(n_pos, d_model)
    pos_labels, dim_labels = (
        [str(p) for p in range(n_pos)],
        [f"{'sin' if j % 2 == 0 else 'cos'} {j // 2}" for j in range(d_model)],
    )
    view.figure(
        heatmap(
            pe.numpy(),
            pos_labels,
            dim_labels,
            title="Sinusoidal positional encoding",
            height=520,
            kind="values",
            row_title="position",
            col_title="column",
        ),
        view.frame(pe, pos_labels, dim_labels),
        "positional_matrix",
        "pe_matrix",
    )
    default_cols = [c for c in (4, 5, 6, 7) if c < d_model] or [0, 1]
    chosen = st.multiselect("Columns to plot", list(range(d_model)), default_cols, key="lab_pe_cols")
    if chosen:
        series = {f"column {c}": (list(range(n_pos)), pe[:, c].tolist()) for c in chosen}
        view.figure(
            line_chart(series, title="Selected columns against position", x_title="position", y_title="value"),
            pd.DataFrame({f"column {c}": pe[:, c].numpy() for c in chosen}),
            "positional_columns",
            "pe_cols",
        )
    check = positional.verify_shift(n_pos, d_model, offset)
    a, b = st.columns(2)
    a.metric(f"max |M_{offset} PE(p) − PE(p+{offset})| over all p", f"{check.max_abs_error:.1e}")
    b.metric("max |M Mᵀ − I| (it is a rotation)", f"{check.orthogonality_error:.1e}")
    if check.max_abs_error < 1e-4:
        st.success(
            f"One matrix M_{offset}, built from k = {offset} alone, maps every position to the one {offset} later (float32 rounding only)."
        )
    if n_pos - offset > 0:
        p = int(st.slider("Check one position p", 0, n_pos - offset - 1, 0, key="lab_pe_p"))
        one = pd.DataFrame(
            {
                "PE(p)": pe[p].double().numpy(),
                f"M_{offset} · PE(p)": check.predicted[p].numpy(),
                f"PE(p+{offset})": check.actual[p].numpy(),
            },
            index=dim_labels,
        )
        one["difference"] = one.iloc[:, 1] - one.iloc[:, 2]
        view.table(one.T if d_model <= 12 else one, f"positional_check_p{p}_k{offset}", "pe_one")
    view.figure(
        heatmap(
            check.shift.numpy(),
            dim_labels,
            dim_labels,
            title=f"M_{offset}: one 2×2 rotation per frequency",
            kind="values",
            row_title="output column",
            col_title="input column",
        ),
        view.frame(check.shift, dim_labels, dim_labels),
        "positional_shift_matrix",
        "pe_shift",
    )
    view.shapes({"PE": pe.shape, "M_k": check.shift.shape, "PE(p) for all p with p+k < n": check.actual.shape})


# ---- lab 8 ---------------------------------------------------------------------------------------


def lab_dessert(lab: Lab) -> None:
    st.markdown(
        "A complete miniature pipeline on one sentence: build a dictionary from its words, turn the sentence "
        "into integer IDs, embed each ID as a 3-number vector, then run one attention head. The article "
        "stops after the embedding and gives no seed; we seed with 123 like the book and keep its sizes "
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
    embedded = as_tensor(emb)[torch.tensor(ids)]  # (T, 3): one row per word of the sentence
    att = dessert.dessert_attention(embedded, d_k, d_v, seed=seed, causal=causal)
    labels = [f"{i}: {w}" for i, w in enumerate(words)]
    query = st.selectbox("Query word", labels, index=min(4, len(labels) - 1), key="lab_ds_query")
    qi = labels.index(query)
    if not view.predict_gate(
        f"ds:{fingerprint(emb, ids, d_k, seed, causal)}:{qi}",
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


# ---- lab 9 ---------------------------------------------------------------------------------------


@st.cache_resource(show_spinner="Training the bigram model (a second or two)…")
def trained_bigram(steps: int, lr: float) -> bigram.BigramModel:
    """Shared read-only by all sessions; keyed by the training settings."""
    return bigram.train_bigram(DEFAULT_CORPUS.read_text(encoding="utf-8"), steps=steps, lr=lr)


def lab_bigram(lab: Lab) -> None:
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
        st.error(f"{err}: use letters and punctuation that occur in Shakespeare.")
    st.subheader("Why it cannot use context")
    c1, c2 = st.columns(2)
    ctx_a = c1.text_input("Context A", "the king", key="lab_bg_a", max_chars=50)
    ctx_b = c2.text_input("Context B", "to sing", key="lab_bg_b", max_chars=50)
    try:
        pa, pb = bigram.next_char_probs(model, ctx_a[-1:] or " "), bigram.next_char_probs(model, ctx_b[-1:] or " ")
    except ValueError as err:
        st.error(f"{err}.")
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


RENDERERS = {
    "journey": lab_journey,
    "embedding": lab_embedding,
    "sliding-window": lab_sliding_window,
    "fox": lab_fox,
    "averaging": lab_averaging,
    "scaling": lab_scaling,
    "positional": lab_positional,
    "dessert": lab_dessert,
    "bigram": lab_bigram,
}

st.title("🧪 Labs: the worked examples, live")
st.markdown(
    "Each lab recomputes a famous textbook example from its inputs, so you can check every printed number "
    "and then change the inputs to see what happens. Tables show 4 decimals; the CSV buttons export full precision."
)
current = choose_lab()
view.predict_mode_toggle()
view.cite(current)
st.header(current.title)
RENDERERS[current.lab_id](current)
