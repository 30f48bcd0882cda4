"""OpenAI's GPT-2 small weights (Hugging Face format) in our from-scratch model.

The weights are an optional download (~548 MB). Offline, ``gpt2_status`` explains where to
put the files. ``pytorch_model.bin`` is read with ``weights_only=True`` (no code can run).
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from gpt.checkpoint import CheckpointError, check_state_dict
from gpt.config import GPTConfig
from gpt.model import GPT

HF_REPO = "openai-community/gpt2"
DEFAULT_GPT2_DIR = Path(__file__).resolve().parent.parent / "data" / "gpt2"
HF_FILES = ("config.json", "model.safetensors")
# Hugging Face stores these as Conv1D (in, out); our nn.Linear wants (out, in).
_TRANSPOSED = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")

ProgressCallback = Callable[[int, int], None]  # (bytes done, bytes total)


def config_from_hf(hf_config: Mapping[str, Any]) -> GPTConfig:
    """Our config from a Hugging Face GPT-2 ``config.json`` (or ``GPT2Config.to_dict()``)."""
    return GPTConfig(
        vocab_size=int(hf_config["vocab_size"]),
        block_size=int(hf_config["n_positions"]),
        n_layer=int(hf_config["n_layer"]),
        n_head=int(hf_config["n_head"]),
        n_embd=int(hf_config["n_embd"]),
        dropout=0.0,
        bias=True,
        pos_encoding="learned",
    )


def convert_hf_state_dict(hf_state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename (and transpose where needed) a Hugging Face GPT-2 state dict to our names."""
    out: dict[str, torch.Tensor] = {}
    for name, tensor in hf_state.items():
        key = name.removeprefix("transformer.")
        if key.endswith((".attn.bias", ".attn.masked_bias")) or key == "lm_head.weight":
            continue  # causal-mask buffers of old checkpoints; the head is tied to wte
        if key.endswith(_TRANSPOSED):
            tensor = tensor.t()
        out[key] = tensor.contiguous()
    return out


def gpt_from_hf_state_dict(hf_state: Mapping[str, torch.Tensor], hf_config: Mapping[str, Any]) -> GPT:
    """Build our GPT from a Hugging Face GPT-2 state dict and config."""
    model = GPT(config_from_hf(hf_config))
    state = convert_hf_state_dict(hf_state)
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

    class CallbackTqdm(tqdm):  # type: ignore[misc, valid-type]
        # Counts bytes itself: a disabled bar (HF_HUB_DISABLE_PROGRESS_BARS) does not track n.
        def update(self, n: float | None = 1) -> bool | None:
            self._bytes_done = getattr(self, "_bytes_done", 0) + int(n or 0)
            progress(self._bytes_done, int(self.total or 0))
            return super().update(n)

    return CallbackTqdm
