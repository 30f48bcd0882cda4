"""Reading a trace for a person: what the numbers of ``GPT.trace`` mean, per step and per head.

- ``explain``: the eleven attention steps (texts, formulas, which matrix each shows) and the
  trace helpers the step-by-step and all-heads pages use;
- ``head_scores``: how much a head looks like a previous-token, first-token or induction head;
- ``analysis``: tokens for display, model and training facts, projections, prediction tables.

Pages import from here (``from gpt.interpret import explain, shown_token``), never from the
modules inside.
"""

from gpt.interpret import explain
from gpt.interpret.analysis import (
    compare_tokenizers,
    corpus_tokenizer,
    cosine_similarity_matrix,
    count_words,
    generation_rows,
    model_facts,
    pca_2d,
    shown_token,
    token_label,
    token_table_rows,
    top_token_rows,
    training_facts,
)
from gpt.interpret.head_scores import (
    INDUCTION_HEAD_MIN_SCORE,
    entropy,
    head_scores,
    max_entropy,
    repeated_random_tokens,
)

__all__ = [
    "INDUCTION_HEAD_MIN_SCORE",
    "compare_tokenizers",
    "corpus_tokenizer",
    "cosine_similarity_matrix",
    "count_words",
    "entropy",
    "explain",
    "generation_rows",
    "head_scores",
    "max_entropy",
    "model_facts",
    "pca_2d",
    "repeated_random_tokens",
    "shown_token",
    "token_label",
    "token_table_rows",
    "top_token_rows",
    "training_facts",
]
