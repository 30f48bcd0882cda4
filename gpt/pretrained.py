"""OpenAI's GPT-2 small weights (Hugging Face format) in our from-scratch model.

The weights are an optional download (~548 MB). Offline, ``gpt2_status`` explains where to
put the files. ``pytorch_model.bin`` is read with ``weights_only=True`` (no code can run).
"""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from gpt.checkpoint import CheckpointError, check_state_dict
from gpt.config import GPTConfig
from gpt.model import GPT
from gpt.paths import DEFAULT_GPT2_DIR

HF_REPO = "openai-community/gpt2"
HF_FILES = ("config.json", "model.safetensors")
# Hugging Face stores these as Conv1D (in, out); our nn.Linear wants (out, in).
_TRANSPOSED = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")

ProgressCallback = Callable[[int, int], None]  # (bytes done, bytes total)


# Hugging Face's names for GPT-2's tanh approximation of GELU, the activation our MLP computes.
GELU_TANH_NAMES = ("gelu_new", "gelu_pytorch_tanh", "gelu_python_tanh", "gelu_fast")
LAYER_NORM_EPS = 1e-5  # PyTorch's LayerNorm default, which our model uses, as GPT-2


def _refuse(field: str, value: Any, supported: str) -> CheckpointError:
    return CheckpointError(f"GPT-2 config sets {field}={value!r}, which this model does not implement; {supported}")


def _check_flag(hf_config: Mapping[str, Any], field: str, supported_value: bool, meaning: str) -> None:
    value = hf_config.get(field, supported_value)
    if value is not supported_value:
        raise _refuse(field, value, f"only {field}={supported_value} ({meaning}) is supported")


def check_hf_config(hf_config: Mapping[str, Any]) -> None:
    """Refuse a Hugging Face GPT-2 config whose maths our model does not compute.

    Settings that only matter for training (dropout) or bookkeeping are ignored. Accepted:
    ``tie_word_embeddings`` either way and ``reorder_and_upcast_attn`` (in float32, where our
    model runs, it computes the same attention).
    """
    model_type = hf_config.get("model_type", "gpt2")
    if model_type != "gpt2":
        raise _refuse("model_type", model_type, "only GPT-2 checkpoints (model_type='gpt2') can be loaded")
    activation = hf_config.get("activation_function", "gelu_new")
    if activation not in GELU_TANH_NAMES:
        raise _refuse(
            "activation_function",
            activation,
            f"only GPT-2's tanh-approximated GELU ({', '.join(GELU_TANH_NAMES)}) is supported",
        )
    eps = hf_config.get("layer_norm_epsilon", LAYER_NORM_EPS)
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not math.isclose(eps, LAYER_NORM_EPS):
        raise _refuse("layer_norm_epsilon", eps, f"only layer_norm_epsilon={LAYER_NORM_EPS} (GPT-2's) is supported")
    n_inner, mlp_width = hf_config.get("n_inner"), 4 * int(hf_config["n_embd"])
    if n_inner is not None and n_inner != mlp_width:
        raise _refuse("n_inner", n_inner, f"only n_inner=None or 4 * n_embd ({mlp_width}) is supported")
    _check_flag(hf_config, "scale_attn_weights", True, "scores divided by sqrt(head size)")
    _check_flag(hf_config, "scale_attn_by_inverse_layer_idx", False, "no extra 1 / (layer + 1) scaling")
    _check_flag(hf_config, "add_cross_attention", False, "a decoder without cross-attention")
    if hf_config.get("pruned_heads"):
        raise _refuse("pruned_heads", hf_config["pruned_heads"], "only models with all their heads are supported")
    for field in ("tie_word_embeddings", "reorder_and_upcast_attn"):
        value = hf_config.get(field, False)
        if not isinstance(value, bool):
            raise _refuse(field, value, f"{field} must be true or false")


def config_from_hf(hf_config: Mapping[str, Any]) -> GPTConfig:
    """Our config from a Hugging Face GPT-2 ``config.json`` (or ``GPT2Config.to_dict()``).

    Raises ``CheckpointError`` for a setting our model does not implement (see ``check_hf_config``).
    """
    check_hf_config(hf_config)
    return GPTConfig(
        vocab_size=int(hf_config["vocab_size"]),
        block_size=int(hf_config["n_positions"]),
        n_layer=int(hf_config["n_layer"]),
        n_head=int(hf_config["n_head"]),
        n_embd=int(hf_config["n_embd"]),
        dropout=0.0,
        bias=True,
        pos_encoding="learned",
        tie_embeddings=hf_config.get("tie_word_embeddings", True),
    )


def convert_hf_state_dict(hf_state: Mapping[str, torch.Tensor], tie_embeddings: bool = True) -> dict[str, torch.Tensor]:
    """Rename (and transpose where needed) a Hugging Face GPT-2 state dict to our names.

    A tied ``lm_head.weight`` is the token embedding and is dropped; an untied one is kept.
    """
    out: dict[str, torch.Tensor] = {}
    for name, tensor in hf_state.items():
        key = name.removeprefix("transformer.")
        if key.endswith((".attn.bias", ".attn.masked_bias")):
            continue  # causal-mask buffers of old checkpoints
        if tie_embeddings and key == "lm_head.weight":
            continue  # the head is tied to wte
        if key.endswith(_TRANSPOSED):
            tensor = tensor.t()
        out[key] = tensor.contiguous()
    return out


def gpt_from_hf_state_dict(hf_state: Mapping[str, torch.Tensor], hf_config: Mapping[str, Any]) -> GPT:
    """Build our GPT from a Hugging Face GPT-2 state dict and config.

    Refuses (``CheckpointError``) configs whose maths our model does not compute.
    """
    model = GPT(config_from_hf(hf_config))
    state = convert_hf_state_dict(hf_state, model.config.tie_embeddings)
    check_state_dict(model, state, "GPT-2 weights")
    model.load_state_dict(state, strict=False)
    return model.eval()


def _read_weights(folder: Path) -> dict[str, torch.Tensor]:
    if (folder / "model.safetensors").is_file():
        from safetensors.torch import load_file

        return load_file(str(folder / "model.safetensors"))
    if (folder / "pytorch_model.bin").is_file():
        return torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
    raise CheckpointError(f"no model.safetensors or pytorch_model.bin in {folder}")


def load_gpt2(folder: str | Path = DEFAULT_GPT2_DIR) -> GPT:
    """Load GPT-2 from a local Hugging Face-format folder (config.json + weights)."""
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise CheckpointError(missing_gpt2_message(folder))
    try:
        hf_config = json.loads(config_path.read_text(encoding="utf-8"))
        return gpt_from_hf_state_dict(_read_weights(folder), hf_config)
    except (OSError, ValueError, KeyError, RuntimeError, pickle.UnpicklingError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"GPT-2 files in {folder} cannot be used: {exc}") from exc


def gpt2_available(folder: str | Path = DEFAULT_GPT2_DIR) -> bool:
    folder = Path(folder)
    return (folder / "config.json").is_file() and (
        (folder / "model.safetensors").is_file() or (folder / "pytorch_model.bin").is_file()
    )


def missing_gpt2_message(folder: str | Path = DEFAULT_GPT2_DIR) -> str:
    return (
        f"GPT-2 small's weights are not on this computer. Download them from the app when online, "
        f"or copy config.json and model.safetensors from https://huggingface.co/{HF_REPO} into {folder}"
    )


def download_gpt2(folder: str | Path = DEFAULT_GPT2_DIR, progress: ProgressCallback | None = None) -> Path:
    """Download GPT-2 small from the Hugging Face Hub into ``folder``.

    huggingface_hub writes to an ``.incomplete`` file, resumes and renames only a complete
    download, so a broken connection never leaves a file that ``load_gpt2`` would use.
    """
    from huggingface_hub import hf_hub_download

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tqdm_class = _progress_tqdm(progress) if progress else None
    for name in HF_FILES:
        hf_hub_download(HF_REPO, name, local_dir=folder, tqdm_class=tqdm_class)
    return folder


def _progress_tqdm(progress: ProgressCallback) -> type:
    from tqdm.auto import tqdm

    class CallbackTqdm(tqdm):
        # Counts bytes itself: a disabled bar (HF_HUB_DISABLE_PROGRESS_BARS) does not track n.
        def update(self, n: float | None = 1) -> bool | None:
            self._bytes_done = getattr(self, "_bytes_done", 0) + int(n or 0)
            progress(self._bytes_done, int(self.total or 0))
            return super().update(n)

    return CallbackTqdm
