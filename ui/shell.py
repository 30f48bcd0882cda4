"""The sidebar every explorer page shares (sentence + model), and the selection it yields."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from gpt import CheckpointError, LoadedModel, TokenPiece, visible
from gpt.catalog import available_models, find_entry
from ui import state
from ui.models import get_model, get_trace

MAX_SENTENCE_CHARS = 20_000  # longer text is cut before tokenising (a pasted book stays responsive)


@dataclass(frozen=True)
class Selection:
    """What the user chose, tokenised and cut to the model's context."""

    model_id: str
    model_label: str
    loaded: LoadedModel
    sentence: str
    pieces: list[TokenPiece]  # tokens that go into the model (after truncation)
    total_tokens: int  # tokens the whole sentence has (before truncation)

    @property
    def token_ids(self) -> tuple[int, ...]:
        return tuple(p.id for p in self.pieces)

    @property
    def token_texts(self) -> list[str]:
        return [visible(p.text) for p in self.pieces]

    @property
    def truncated(self) -> bool:
        return self.total_tokens > len(self.pieces)

    def provenance(self, **extra: object) -> dict[str, object]:
        meta = self.loaded.meta
        info: dict[str, object] = {"model": self.model_label}
        if "iter" in meta:
            info["checkpoint"] = f"iter {meta['iter']}"
        if "seed" in meta:
            info["seed"] = meta["seed"]
        info.update(extra)
        return info

    def trace(self, scale: bool = True, causal: bool = True):
        return get_trace(self.model_id, self.token_ids, scale=scale, causal=causal)


def _model_picker() -> str:
    entries = available_models()
    ids = [e.model_id for e in entries]
    labels = {e.model_id: e.label for e in entries}
    current = state.get("model")
    if current not in ids:
        if current:
            st.sidebar.warning(f"Model “{current}” is not available here; showing the default instead.")
        current = ids[0]
        st.session_state["model"] = current
    return st.sidebar.selectbox(
        "Model",
        ids,
        format_func=lambda i: labels.get(i, i),
        **state.bind("model", clamp=lambda v: v if v in ids else ids[0]),
    )


def sidebar() -> Selection | None:
    """Draw the shared sidebar and return the selection, or None (with a message) if unusable."""
    st.sidebar.text_area("Sentence", height=90, max_chars=MAX_SENTENCE_CHARS, **state.bind("sentence"))
    model_id = _model_picker()
    try:
        loaded = get_model(model_id)
    except (CheckpointError, OSError, ValueError) as exc:
        st.sidebar.error(f"This model cannot be loaded: {exc}")
        return None
    sentence = str(state.get("sentence"))[:MAX_SENTENCE_CHARS]
    pieces = loaded.tokenizer.pieces(sentence)
    context = loaded.model.config.block_size
    kept = pieces[:context]
    st.sidebar.caption(f"{len(kept)} / {context} tokens ({loaded.tokenizer.name} tokenizer)")
    if len(pieces) > context:
        st.sidebar.info(f"The text has {len(pieces)} tokens; only the first {context} fit in this model's context.")
    state.publish()
    label = find_entry(model_id).label if model_id else model_id
    label = next((e.label for e in available_models() if e.model_id == model_id), label)
    return Selection(model_id, label, loaded, sentence, kept, len(pieces))


def require_tokens(selection: Selection | None) -> Selection | None:
    """Stop a page politely when there is nothing to show (no model, or an empty sentence)."""
    if selection is None:
        return None
    if not selection.pieces:
        st.info("Type a sentence in the sidebar to see what the model does with it.")
        return None
    return selection
