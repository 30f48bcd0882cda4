"""A from-scratch GPT with an inspection path, for teaching. Pure Python/torch: no UI code here.

The public API (pages, the training CLI and the tests use only these names):

- tokenizers: ``get_tokenizer``, ``tokenizer_from_spec``, ``TokenPiece``, ``visible``
- model: ``GPTConfig``, ``preset``, ``GPT``, ``ConfigError``
- inspection: ``GPT.trace`` -> ``Trace`` (per layer ``LayerTrace``), ``TraceOptions``,
  ``attention_steps``
- generation: ``generate``, ``next_token_probs``, ``SamplingSettings``
- checkpoints: ``save_checkpoint``, ``load_checkpoint``, ``CheckpointError``
- GPT-2 weights: ``load_gpt2``, ``download_gpt2``, ``gpt_from_hf_state_dict``
"""

from gpt.attention import AttentionSteps, attention_steps, causal_mask
from gpt.checkpoint import CheckpointError, LoadedModel, load_checkpoint, save_checkpoint
from gpt.config import PRESETS, ConfigError, GPTConfig, preset
from gpt.generate import GenerationStep, SamplingSettings, generate, next_token_probs
from gpt.model import GPT, sinusoidal_positions
from gpt.pretrained import download_gpt2, gpt2_available, gpt_from_hf_state_dict, load_gpt2
from gpt.tokenizers import TokenizerError, TokenPiece, get_tokenizer, tokenizer_from_spec, visible
from gpt.trace import LayerTrace, Trace, TraceOptions

__all__ = [
    "PRESETS",
    "GPT",
    "AttentionSteps",
    "CheckpointError",
    "ConfigError",
    "GPTConfig",
    "GenerationStep",
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
    "tokenizer_from_spec",
    "visible",
]
