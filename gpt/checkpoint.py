"""Checkpoints: safetensors weights + a JSON sidecar, written so a crash never corrupts them.

A checkpoint is a directory::

    model.safetensors      weights (the tied lm_head is not stored twice)
    checkpoint.json        model config, tokenizer, sha256 of every file, anything the caller adds
    optimizer.safetensors  (optional) optimizer tensors, for resuming training

It is written into a hidden temporary directory and renamed into place, so a reader sees
either the whole previous checkpoint or the whole new one, never half of one; a writer killed
at any moment (kill -9, full disk) leaves the previous checkpoint usable. One writer per
checkpoint path at a time (a training run owns its own).
Nothing here uses pickle: loading a checkpoint cannot run code.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from gpt.config import ConfigError, GPTConfig, check_vocab_matches
from gpt.files import FLOAT_DTYPES, HeaderError, open_regular_file, read_safetensors_header
from gpt.model import GPT
from gpt.tokenizers import Tokenizer, TokenizerError, tokenizer_from_spec

WEIGHTS = "model.safetensors"
SIDECAR = "checkpoint.json"
OPTIMIZER = "optimizer.safetensors"
FORMAT_VERSION = 1
TEMP_PREFIX = ".tmp-"  # a checkpoint being written: f".tmp-{name}-XXXX" beside the checkpoint folder
MAX_SIDECAR_BYTES = 64 << 20
MAX_LOAD_PARAMS = 1_600_000_000  # GPT-2 XL; a bigger sidecar is refused before anything is allocated


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used; the message names the file and the problem."""


@dataclass
class LoadedModel:
    model: GPT
    tokenizer: Tokenizer
    meta: dict[str, Any]  # the sidecar's contents (config, tokenizer, training info)
    path: Path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open_regular_file(path) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _stored_state(model: GPT) -> dict[str, torch.Tensor]:
    """The state a checkpoint stores: a tied lm_head is the embedding, stored once (safetensors
    refuses shared storage)."""
    tied = model.config.tie_embeddings
    return {k: v for k, v in model.state_dict().items() if not (tied and k == "lm_head.weight")}


def model_tensors(model: GPT) -> dict[str, torch.Tensor]:
    """The weights a checkpoint stores, on the CPU."""
    return {k: v.detach().cpu().contiguous() for k, v in _stored_state(model).items()}


def expected_shapes(cfg: GPTConfig) -> dict[str, tuple[int, ...]]:
    """The name and shape of every tensor a checkpoint of ``cfg`` stores, computed on the meta
    device: no memory is allocated, whatever size the config declares."""
    with torch.device("meta"):
        model = GPT(cfg)
    return {k: tuple(v.shape) for k, v in _stored_state(model).items()}


def check_weights_header(cfg: GPTConfig, path: Path) -> None:
    """Refuse a weights file whose tensors do not fit ``cfg`` before any model is built or any
    tensor is read: a crafted sidecar (59 layers x 2048 dims over a tiny file) costs nothing."""
    expected = expected_shapes(cfg)
    n_params = sum(math.prod(shape) for shape in expected.values())
    if n_params > MAX_LOAD_PARAMS:
        raise CheckpointError(
            f"{path}: its config describes {n_params:,} parameters, more than the {MAX_LOAD_PARAMS:,} this app loads"
        )
    try:
        found = read_safetensors_header(path)
    except HeaderError as exc:
        raise CheckpointError(str(exc)) from exc
    missing, unexpected = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing or unexpected:
        parts = [f"missing {', '.join(missing[:5])}"] if missing else []
        parts += [f"unexpected {', '.join(unexpected[:5])}"] if unexpected else []
        raise CheckpointError(f"{path} does not match its config: {'; '.join(parts)}")
    for name, shape in expected.items():
        dtype, stored = found[name]
        if dtype not in FLOAT_DTYPES:
            raise CheckpointError(f"{path}: tensor {name} is stored as {dtype}, not as floating-point numbers")
        if stored != shape:
            raise CheckpointError(f"{path}: tensor {name} has shape {stored} but the config needs {shape}")


def flatten_optimizer_state(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split a torch optimizer state_dict into tensors (for safetensors) and JSON-able rest."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, slots in state["state"].items():
        for name, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"{pid}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def unflatten_optimizer_state(tensors: dict[str, torch.Tensor], rest: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    for pid, slots in rest.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(slots)
    return {"state": state, "param_groups": rest["param_groups"]}


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(
    path: str | Path,
    model: GPT,
    tokenizer: Tokenizer,
    extra: dict[str, Any] | None = None,
    optimizer_state: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint directory atomically; an existing one at ``path`` is replaced whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tidy_checkpoint_folder(path)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{path.name}-", dir=path.parent))
    try:
        save_file(model_tensors(model), str(tmp / WEIGHTS))
        meta: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "config": model.config.to_dict(),
            "tokenizer": tokenizer.to_spec(),
            **(extra or {}),
        }
        if optimizer_state is not None:
            tensors, rest = flatten_optimizer_state(optimizer_state)
            save_file(tensors, str(tmp / OPTIMIZER))
            meta["optimizer"] = rest
        meta["sha256"] = {name: _sha256(tmp / name) for name in (WEIGHTS, OPTIMIZER) if (tmp / name).exists()}
        with open(tmp / SIDECAR, "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        for name in (WEIGHTS, OPTIMIZER):
            if (tmp / name).exists():
                with open(tmp / name, "rb") as f:
                    os.fsync(f.fileno())
        _swap_into_place(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def tidy_checkpoint_folder(path: str | Path) -> None:
    """Undo what a killed writer left beside the checkpoint at ``path``: a previous version moved
    aside is put back, half-written temporary folders are removed. Only while no writer is at work
    (before a save; the job manager once a worker has exited)."""
    path = Path(path)
    _restore_aside(path)
    for stale in path.parent.glob(f"{TEMP_PREFIX}{path.name}-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _aside_copies(path: Path) -> list[Path]:
    """Previous versions moved aside during a replace, newest first."""
    return sorted(path.parent.glob(f".old-{path.name}-*"), key=lambda p: p.stat().st_mtime_ns, reverse=True)


def usable_checkpoint_dir(path: str | Path) -> Path | None:
    """The folder that holds the checkpoint at ``path`` right now.

    A replace renames the old folder aside and then the new one into place; a writer killed
    between those two renames leaves only the aside copy, which is then the checkpoint.
    """
    path = Path(path)
    if (path / SIDECAR).is_file():
        return path
    for aside in _aside_copies(path):
        if (aside / SIDECAR).is_file():
            return aside
    return None


def _restore_aside(path: Path) -> None:
    """Before writing: put back a previous version a killed writer left aside."""
    if path.exists():
        return
    for aside in _aside_copies(path):
        if (aside / SIDECAR).is_file():
            os.replace(aside, path)
            return


def _swap_into_place(tmp: Path, path: Path) -> None:
    """Rename tmp -> path. An old checkpoint is moved aside first and removed only afterwards."""
    old = None
    if path.exists():
        old = path.with_name(f".old-{path.name}-{os.getpid()}-{time.monotonic_ns()}")
        os.replace(path, old)
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    for stale in _aside_copies(path):
        shutil.rmtree(stale, ignore_errors=True)


def read_meta(path: str | Path) -> dict[str, Any]:
    path = usable_checkpoint_dir(path) or Path(path)
    sidecar = path / SIDECAR
    if not sidecar.is_file():
        raise CheckpointError(f"{path} is not a checkpoint: {SIDECAR} is missing")
    try:
        with open_regular_file(sidecar) as f:
            if os.fstat(f.fileno()).st_size > MAX_SIDECAR_BYTES:
                raise CheckpointError(f"{sidecar} is too big to be a checkpoint's description")
            meta = json.loads(f.read())
    except (OSError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{sidecar} is damaged and cannot be read ({exc})") from exc
    if not isinstance(meta, dict) or "config" not in meta or "tokenizer" not in meta:
        raise CheckpointError(f"{sidecar} lacks the model config or tokenizer description")
    return meta


def _verify_file(path: Path, name: str, meta: dict[str, Any]) -> None:
    checksums = meta.get("sha256")
    expected = checksums.get(name) if isinstance(checksums, dict) else None
    if not (path / name).is_file():
        raise CheckpointError(f"{path / name} is missing")
    try:
        actual = _sha256(path / name)
    except OSError as exc:
        raise CheckpointError(f"{path / name} cannot be read ({exc.strerror or exc})") from exc
    if expected and actual != expected:
        raise CheckpointError(f"{path / name} is corrupt or half-written (its checksum does not match)")


def check_optimizer_state(optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """Refuse an optimizer state that was not made for ``optimizer`` (CheckpointError): other parameter
    groups, or a slot whose shape is not its parameter's. The optimizer's twin of ``check_state_dict``."""
    shapes = [tuple(p.shape) for group in optimizer.param_groups for p in group["params"]]
    groups = state.get("param_groups")
    sizes = [len(g.get("params", ())) for g in groups] if isinstance(groups, list) else None
    if sizes != [len(g["params"]) for g in optimizer.param_groups]:
        raise CheckpointError("the checkpoint's optimizer state does not belong to this model and optimizer")
    for pid, slots in state.get("state", {}).items():
        if not isinstance(pid, int) or not 0 <= pid < len(shapes):
            raise CheckpointError(f"the checkpoint's optimizer state names a parameter this model lacks ({pid})")
        for name, value in slots.items():
            if torch.is_tensor(value) and value.dim() > 0 and tuple(value.shape) != shapes[pid]:
                raise CheckpointError(
                    f"the checkpoint's optimizer state has {name} of shape {tuple(value.shape)} for a parameter "
                    f"of shape {shapes[pid]}"
                )


def check_state_dict(model: GPT, tensors: dict[str, torch.Tensor], source: str) -> None:
    """Refuse weights whose names or shapes do not fit the model built from the config."""
    expected = {k: tuple(v.shape) for k, v in model_tensors(model).items()}
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:5])}")
        if unexpected:
            parts.append(f"unexpected {', '.join(unexpected[:5])}")
        raise CheckpointError(f"{source} does not match its config: {'; '.join(parts)}")
    for name, shape in expected.items():
        if tuple(tensors[name].shape) != shape:
            raise CheckpointError(
                f"{source}: tensor {name} has shape {tuple(tensors[name].shape)} but the config needs {shape}"
            )


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a checkpoint directory, verifying checksums, names and shapes before use.

    A training run may replace the checkpoint while we read it; a read that straddles the
    swap fails its checksum and is retried on the new version.
    """
    for attempt in range(3):
        try:
            return _load_checkpoint_once(path, device)
        except CheckpointError:
            if attempt == 2:
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")


def _load_checkpoint_once(path: str | Path, device: str | torch.device) -> LoadedModel:
    path = usable_checkpoint_dir(path) or Path(path)
    meta = read_meta(path)
    try:
        cfg = GPTConfig.from_dict(meta["config"])
        tokenizer = tokenizer_from_spec(meta["tokenizer"])
        check_vocab_matches(cfg, tokenizer.vocab_size)
    except (ConfigError, TokenizerError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    check_weights_header(cfg, path / WEIGHTS)  # before the checksum, the tensors and the model
    _verify_file(path, WEIGHTS, meta)
    try:
        tensors = load_file(str(path / WEIGHTS))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path / WEIGHTS} cannot be read as safetensors ({exc})") from exc
    model = GPT(cfg)
    check_state_dict(model, tensors, str(path / WEIGHTS))
    model.load_state_dict(tensors, strict=False)  # a tied lm_head comes with wte
    model.to(device).eval()
    return LoadedModel(model=model, tokenizer=tokenizer, meta=meta, path=path)


def load_optimizer_state(path: str | Path) -> dict[str, Any]:
    path = usable_checkpoint_dir(path) or Path(path)
    meta = read_meta(path)
    if "optimizer" not in meta:
        raise CheckpointError(f"{path} holds no optimizer state, so training cannot resume from it")
    _verify_file(path, OPTIMIZER, meta)
    try:
        tensors = load_file(str(path / OPTIMIZER))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path / OPTIMIZER} cannot be read ({exc})") from exc
    try:
        return unflatten_optimizer_state(tensors, meta["optimizer"])
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path / OPTIMIZER} does not hold an optimizer state this app wrote ({exc})") from exc
