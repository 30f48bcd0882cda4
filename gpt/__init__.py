"""A from-scratch GPT with an inspection path, for teaching. Pure Python/torch: no UI code here.

This package root is the core's public API; the pages and ``ui/`` import the core only from here.
The subpackages have their own public API in their ``__init__`` (``gpt.interpret``,
``gpt.train``, ``gpt.runs``, ``gpt.labs``), and the core imports none of them (tests/unit/
test_layering.py checks both rules).

- tokenizers: ``get_tokenizer``, ``tokenizer_from_spec``, ``TokenPiece``, ``visible``
- model: ``GPTConfig``, ``preset``, ``GPT``, ``ConfigError``
- inspection: ``GPT.trace`` -> ``Trace`` (per layer ``LayerTrace``), ``TraceOptions``,
  ``attention_steps``; memory: ``Trace.nbytes``, ``estimate_trace_bytes``, ``tensor_bytes``
- generation (KV-cached): ``generate``, ``next_token_probs``, ``SamplingSettings``,
  ``MAX_GENERATION_WORK``, ``KVCache``
- checkpoints: ``save_checkpoint``, ``load_checkpoint``, ``CheckpointError``
- GPT-2 weights: ``load_gpt2``, ``download_gpt2``, ``gpt_from_hf_state_dict``
- models by id (``demo:…``, ``run:…``, ``gpt2``, ``random:…``): ``available_models``,
  ``load_model``, ``model_version``, ``ModelEntry``
- where files live: ``DEFAULT_CORPUS``, ``runs_dir``, ``gpt2_dir``, ``is_valid_run_id``
"""

from gpt.attention import AttentionSteps, attention_steps, causal_mask
from gpt.checkpoint import CheckpointError, LoadedModel, load_checkpoint, save_checkpoint
from gpt.config import MODEL_PRESETS, ConfigError, GPTConfig, preset
from gpt.generate import MAX_GENERATION_WORK, GenerationStep, SamplingSettings, generate, next_token_probs
from gpt.model import GPT, KVCache, sinusoidal_positions
from gpt.models import ModelEntry, available_models, load_model, model_version
from gpt.paths import DEFAULT_CORPUS, gpt2_dir, is_valid_run_id, runs_dir
from gpt.pretrained import download_gpt2, gpt2_available, gpt_from_hf_state_dict, load_gpt2
from gpt.tokenizers import (
    ENDOFTEXT,
    UNK,
    Tokenizer,
    TokenizerError,
    TokenPiece,
    clean_text,
    get_tokenizer,
    tokenizer_from_spec,
    visible,
)
from gpt.trace import LayerTrace, Trace, TraceOptions, estimate_trace_bytes, tensor_bytes

__all__ = [
    "DEFAULT_CORPUS",
    "ENDOFTEXT",
    "MAX_GENERATION_WORK",
    "MODEL_PRESETS",
    "UNK",
    "ModelEntry",
    "Tokenizer",
    "available_models",
    "clean_text",
    "gpt2_dir",
    "is_valid_run_id",
    "load_model",
    "model_version",
    "runs_dir",
    "GPT",
    "AttentionSteps",
    "CheckpointError",
    "ConfigError",
    "GPTConfig",
    "GenerationStep",
    "KVCache",
    "LayerTrace",
    "LoadedModel",
    "SamplingSettings",
    "TokenPiece",
    "TokenizerError",
    "Trace",
    "TraceOptions",
    "attention_steps",
    "causal_mask",
    "download_gpt2",
    "estimate_trace_bytes",
    "generate",
    "get_tokenizer",
    "gpt2_available",
    "gpt_from_hf_state_dict",
    "load_checkpoint",
    "load_gpt2",
    "next_token_probs",
    "preset",
    "save_checkpoint",
    "sinusoidal_positions",
    "tensor_bytes",
    "tokenizer_from_spec",
    "visible",
]
