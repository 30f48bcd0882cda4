"""The sidebar every explorer page shares (sentence + model), and the selection it yields."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from gpt import (
    CheckpointError,
    LoadedModel,
    Tokenizer,
    TokenPiece,
    Trace,
    available_models,
    clean_text,
    gpt2_dir,
    pretrained,
    visible,
)
from gpt.interpret import explain, shown_token
from ui import state, teacher
from ui.models import TraceTooLargeError, get_model, get_trace
from ui.text import md_code, md_escape

MAX_SENTENCE_CHARS = 20_000  # longer text is cut before tokenising (a pasted book stays responsive)
# What a model can fail to load with: broken/missing files, bad config, bad tokenizer spec.
LOAD_ERRORS = (CheckpointError, OSError, ValueError, RuntimeError, KeyError)


@dataclass(frozen=True)
class Selection:
    """What the user chose, tokenised and cut to the model's context."""

    model_id: str
    model_label: str
    loaded: LoadedModel
    sentence: str
    pieces: list[TokenPiece]  # tokens that go into the model (after truncation)
    total_tokens: int  # tokens the whole sentence has (before truncation)
    period: int | None = None  # set when a random sequence shown twice replaces the sentence (induction)
    seed: int | None = None  # that sequence's seed

    @property
    def token_ids(self) -> tuple[int, ...]:
        return tuple(p.id for p in self.pieces)

    @property
    def token_texts(self) -> list[str]:
        return [visible(p.text) for p in self.pieces]

    @property
    def truncated(self) -> bool:
        return self.total_tokens > len(self.pieces)

    @property
    def context(self) -> int:
        return self.loaded.model.config.block_size

    def provenance(self, **extra: object) -> dict[str, object]:
        meta = self.loaded.meta
        info: dict[str, object] = {"model": self.model_label}
        if "iter" in meta:
            info["checkpoint"] = f"iter {meta['iter']}"
        elif meta.get("untrained"):
            info["checkpoint"] = "untrained"
        if "seed" in meta:
            info["seed"] = meta["seed"]
        info.update(extra)
        return info

    def trace(self, scale: bool = True, causal: bool = True) -> Trace:
        """The cached trace; a text too big for the server's memory budget ends the page with a message."""
        try:
            return get_trace(self.model_id, self.token_ids, scale=scale, causal=causal)
        except TraceTooLargeError as exc:
            st.error(str(exc))
            st.stop()


def _model_picker(labels: dict[str, str]) -> str:
    """The model box over ``labels`` (model id -> label, in menu order); an unavailable choice is replaced."""
    ids = list(labels)
    current = state.get("model")
    if current not in ids:
        instead = md_escape(labels[ids[0]])
        if current == "gpt2":
            st.sidebar.warning(f"{_missing_gpt2(gpt2_dir())} Showing “{instead}” instead.")
        elif current:  # from the URL: anybody can send a link, so it is shown as plain text
            st.sidebar.warning(f"Model “{md_escape(current)}” is not available here; showing “{instead}” instead.")
        st.session_state["model"] = ids[0]
    return st.sidebar.selectbox(
        "Model",
        ids,
        format_func=lambda i: labels.get(i, i),
        help="Demo models and your training runs were trained on Shakespeare; untrained models show "
        "attention before any learning.",
        **state.bind("model", clamp=lambda v: v if v in ids else ids[0]),
    )


def _missing_gpt2(folder: Path) -> str:
    """Where GPT-2's files go: the folder for the local user and the teacher, neutral words for students."""
    return pretrained.missing_gpt2_message(teacher.shown_path(folder, teacher.GPT2_FOLDER))


def _gpt2_download() -> None:
    """Offer GPT-2 small's weights when they are missing; explain where to put them offline."""
    folder = gpt2_dir()
    if pretrained.gpt2_available(folder):
        return
    teacher.key_box()
    with st.sidebar.expander("Add GPT-2 small (124M)"):
        st.caption(
            "OpenAI's GPT-2 small is a ~550 MB download, needed once; afterwards it works offline. "
            f"Files go to {teacher.shown_path(folder, teacher.GPT2_FOLDER)}."
        )
        allowed = teacher.require_teacher(teacher.GPT2_DOWNLOAD)
        if not (st.button("Download GPT-2 small", key="gpt2_download", disabled=not allowed) and allowed):
            return
        bar = st.progress(0.0, text="Connecting…")

        def progress(done: int, total: int) -> None:
            share = min(1.0, done / total) if total else 0.0
            bar.progress(share, text=f"{done / 1e6:.0f} / {total / 1e6:.0f} MB")

        try:
            pretrained.download_gpt2(folder, progress)
        except Exception as exc:  # any network/disk failure must end in a message, not a traceback
            st.error(f"The download did not work: {_download_failure(exc)} {_missing_gpt2(folder)}")
            return
        if not pretrained.gpt2_available(folder):
            st.error(_missing_gpt2(folder))
            return
        bar.progress(1.0, text="Done")
        state.put("model", "gpt2")
        st.rerun()


def _download_failure(exc: Exception) -> str:
    """A failed download in words, never an exception's class name (e.g. LocalEntryNotFoundError)."""
    if isinstance(exc, (OSError, ConnectionError)) or "LocalEntryNotFound" in type(exc).__name__:
        return "this computer could not reach the Hugging Face Hub (is it offline?)."
    return "the Hugging Face Hub did not send the files."


def _token_notes(pieces: list[TokenPiece], kept: int, context: int, tokenizer: Tokenizer) -> None:
    st.sidebar.caption(f"**{kept} / {context} tokens** ({md_escape(tokenizer.name)} tokenizer)")
    if len(pieces) > context:
        st.sidebar.warning(
            f"The text has {len(pieces)} tokens; only the first {context} fit in this model's context, "
            "so the rest is cut off on every page."
        )
    unknown = sorted({p.text for p in pieces[:kept] if not p.known})
    if unknown:
        shown = " ".join(md_code(shown_token(c)) for c in unknown[:8]) + (" …" if len(unknown) > 8 else "")
        st.sidebar.info(
            f"{len(unknown)} different character(s) are not in this model's vocabulary: {shown}. "
            + _read_as(pieces[:kept], tokenizer)
        )


def _read_as(pieces: list[TokenPiece], tokenizer: Tokenizer) -> str:
    """Which token the model reads instead of each unknown one: no silent substitution."""
    ids = sorted({p.id for p in pieces if not p.known})

    def named(token_id: int) -> str:
        text = tokenizer.token_text(token_id)
        return f"{md_code(shown_token(text) or '∅')} (ID {token_id})" + (", the space" if text == " " else "")

    if len(ids) == 1:
        return f"The model reads each of them as {named(ids[0])}, so it cannot tell them apart."
    first = {}
    for p in pieces:
        if not p.known:
            first.setdefault(p.id, p.text)
    pairs = [f"{md_code(shown_token(first[i]))} → {named(i)}" for i in ids[:8]]
    return "The model reads them as: " + "; ".join(pairs) + (" …" if len(ids) > 8 else "") + "."


def use_repeated(seed: int | None) -> None:
    """Replace the sentence by the random sequence ``seed`` shown twice (None: back to the sentence)."""
    state.put("repeat", seed)


def _repeated(loaded: LoadedModel, seed: int) -> tuple[list[TokenPiece], int]:
    """The induction test input: random tokens, then the same tokens again; and its period."""
    tok = loaded.tokenizer
    ids, period = explain.induction_sequence(tok.vocab_size, loaded.model.config.block_size, seed=seed)
    pieces, offset = [], 0
    for token_id in ids:
        text = tok.token_text(token_id)
        pieces.append(TokenPiece(token_id, text, offset, offset + len(text)))
        offset += len(text)
    return pieces, period


def _sentence_box() -> None:
    binding = state.bind("sentence", clamp=lambda s: clean_text(str(s)[:MAX_SENTENCE_CHARS]))
    copy_back = binding["on_change"]

    def typed() -> None:  # typing a sentence ends the repeated-sequence test
        copy_back()
        state.put("repeat", None)

    st.sidebar.text_area(
        "Sentence",
        height=90,
        max_chars=MAX_SENTENCE_CHARS,
        help="Every page shows what the model does with this text. The link in the address bar keeps it.",
        # clean_text: an unpaired surrogate (set through the API or session) cannot be sent to the browser.
        key=binding["key"],
        on_change=typed,
    )


def sidebar() -> Selection | None:
    """Draw the shared sidebar and return the selection, or None (with a message) if unusable."""
    _sentence_box()
    # One scan per rerun: listing the models walks the demo, GPT-2 and every run folder on disk.
    labels = {e.model_id: e.label for e in available_models()}
    model_id = _model_picker(labels)
    _gpt2_download()
    try:
        loaded = get_model(model_id)
    except LOAD_ERRORS as exc:
        st.sidebar.error(f"This model cannot be loaded: {teacher.shown_error(exc)}")
        st.error("The selected model cannot be loaded; pick another one in the sidebar.")
        return None
    sentence = str(state.get("sentence"))
    seed = state.get("repeat")
    if isinstance(seed, int) and loaded.model.config.block_size >= 2:
        pieces, period = _repeated(loaded, seed)
        state.publish()
        return Selection(model_id, labels.get(model_id, model_id), loaded, sentence, pieces, len(pieces), period, seed)
    pieces = loaded.tokenizer.pieces(sentence)
    context = loaded.model.config.block_size
    kept = pieces[:context]
    _token_notes(pieces, len(kept), context, loaded.tokenizer)
    state.publish()
    return Selection(model_id, labels.get(model_id, model_id), loaded, sentence, kept, len(pieces))


def repeated_banner(sel: Selection) -> None:
    """Say that the repeated sequence replaces the sentence, with the way back and another draw."""
    if sel.seed is None:
        return
    st.info(
        f"Showing a **random sequence of {sel.period} tokens, repeated** (seed {sel.seed}) instead of your "
        "sentence. Induction heads light up on a stripe just off the diagonal in the second half."
    )
    a, b, _ = st.columns([2, 2, 3])
    a.button("Back to my sentence", icon=":material/undo:", on_click=use_repeated, args=(None,), key="repeat_back")
    b.button(
        "Another random sequence",
        icon=":material/casino:",
        on_click=use_repeated,
        args=(sel.seed + 1,),
        key="repeat_again",
    )


# Parts a page may need that a model of the architecture ladder lab can lack (gpt.config's switches).
PART_NAMES = {"attention": "attention", "residual": "residual connections", "layernorm": "LayerNorm"}
PART_HINTS = {
    "attention": "It is a bigram model without any blocks, like the first rung of the architecture ladder lab: "
    "each token's embedding goes straight to the output layer. Pages 1, 2 and 5 show what it does.",
    "residual": "Its blocks replace the stream instead of adding to it, like the early rungs of the architecture "
    "ladder lab, so the last vector is not a sum of the parts' outputs.",
    "layernorm": "Its vectors are never normalised, like the rungs of the architecture ladder lab before LayerNorm.",
}


def missing_parts(sel: Selection, needs: tuple[str, ...]) -> list[str]:
    """Which of ``needs`` ("attention", "residual", "layernorm") the chosen model lacks."""
    cfg = sel.loaded.model.config
    has = {"attention": cfg.has_attention, "residual": cfg.has_attention and cfg.residual, "layernorm": cfg.layernorm}
    return [part for part in needs if not has[part]]


def require_parts(sel: Selection, shows: str, *needs: str) -> bool:
    """True when the model has every part in ``needs``; otherwise say (an info box) that this model has no
    such step, for a view that shows ``shows``, and return False."""
    missing = missing_parts(sel, needs)
    if not missing:
        return True
    named = [PART_NAMES[part] for part in missing]
    names = named[0] if len(named) == 1 else ", no ".join(named[:-1]) + " and no " + named[-1]
    st.info(f"**This model has no {names}**, so there are no {shows} here. {PART_HINTS[missing[0]]}")
    return False


def require_tokens(selection: Selection | None) -> Selection | None:
    """Stop a page politely when there is nothing to show (no model, or an empty sentence)."""
    if selection is None:
        return None
    repeated_banner(selection)
    if not selection.pieces:
        st.info("Type a sentence in the sidebar to see what the model does with it.")
        return None
    if selection.truncated:
        st.caption(
            f"⚠️ Showing the first {len(selection.pieces)} of {selection.total_tokens} tokens "
            f"(this model reads at most {selection.context})."
        )
    return selection
