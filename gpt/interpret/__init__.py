"""Reading a trace for a person: what the numbers of ``GPT.trace`` mean, per step and per head.

- ``explain``: the eleven attention steps (texts, formulas, which matrix each shows) and the
  trace helpers the step-by-step and all-heads pages use;
- ``head_scores``: how much a head looks like a previous-token, first-token or induction head;
- ``analysis``: tokens for display, model and training facts, projections, prediction tables;
- from attention to the prediction ("Why this token?"): ``lens`` (the logit lens), ``attribution``
  (direct logit attribution per head and MLP), ``knockout`` (heads knocked out, effects, ranking),
  ``neuron`` (one score from q[d]*k[d] to its weight), ``rollout`` (which input tokens mattered).

Pages import from here (``from gpt.interpret import explain, shown_token``), never from the
modules inside.
"""

from gpt.interpret import explain
from gpt.interpret.analysis import (
    POSITION_KIND_TEXT,
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
from gpt.interpret.attribution import Attribution, Term, direct_logit_attribution, head_outputs
from gpt.interpret.head_scores import (
    INDUCTION_HEAD_MIN_SCORE,
    entropy,
    head_scores,
    max_entropy,
    repeated_random_tokens,
)
from gpt.interpret.knockout import (
    Change,
    HeadEffect,
    check_heads,
    knockout_options,
    log_prob,
    loss_change,
    rank_heads,
    second_half_loss,
    sequence_loss,
    token_change,
)
from gpt.interpret.lens import LENS_TOP_K, POINTS, LogitLens, default_points, logit_lens, point_names, residual_points
from gpt.interpret.model_report import INDUCTION_DEMO
from gpt.interpret.neuron import NeuronView, neuron_view
from gpt.interpret.qk_plane import PlaneFit, QKPlane, fit_plane, normalise_qk, project, qk_plane
from gpt.interpret.rollout import (
    Importance,
    attention_rollout,
    gradient_x_input,
    head_averaged,
    input_importance,
    last_layer_attention,
    rollout_row,
)
from gpt.interpret.sampling_tree import (
    MAX_TREE_DEPTH,
    MAX_TREE_NODES,
    MAX_TREE_WIDTH,
    BranchError,
    SamplingTree,
    TreeNode,
    branch_text,
    parse_branch,
    sampling_tree,
    tree_size,
)
from gpt.interpret.timeline import SINK_SHARE, CutOffView, cut_off_view, sink_heads, step_window
from gpt.trace import ABLATIONS, Knockout  # the knockout spec lives with TraceOptions; named here for the pages

__all__ = [
    "ABLATIONS",
    "Knockout",
    "INDUCTION_DEMO",
    "INDUCTION_HEAD_MIN_SCORE",
    "LENS_TOP_K",
    "POINTS",
    "Attribution",
    "Change",
    "HeadEffect",
    "Importance",
    "LogitLens",
    "NeuronView",
    "Term",
    "attention_rollout",
    "check_heads",
    "default_points",
    "direct_logit_attribution",
    "gradient_x_input",
    "head_averaged",
    "head_outputs",
    "input_importance",
    "knockout_options",
    "last_layer_attention",
    "log_prob",
    "logit_lens",
    "loss_change",
    "neuron_view",
    "point_names",
    "rank_heads",
    "rollout_row",
    "residual_points",
    "second_half_loss",
    "sequence_loss",
    "token_change",
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
    "POSITION_KIND_TEXT",
    "pca_2d",
    "repeated_random_tokens",
    "shown_token",
    "token_label",
    "token_table_rows",
    "top_token_rows",
    "training_facts",
    "MAX_TREE_DEPTH",
    "MAX_TREE_NODES",
    "MAX_TREE_WIDTH",
    "SINK_SHARE",
    "BranchError",
    "CutOffView",
    "PlaneFit",
    "QKPlane",
    "SamplingTree",
    "TreeNode",
    "branch_text",
    "cut_off_view",
    "fit_plane",
    "normalise_qk",
    "parse_branch",
    "project",
    "qk_plane",
    "sampling_tree",
    "sink_heads",
    "step_window",
    "tree_size",
]
