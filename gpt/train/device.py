"""Where a run can train and how: the devices of this machine, precision and CPU threads.

One home for these choices, so the worker, the speed probe and the Train page decide alike.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from gpt.config import ConfigError


@dataclass(frozen=True)
class DeviceInfo:
    key: str  # what the job manager queues on: cpu | mps | cuda:N
    label: str  # what a picker shows
    memory_bytes: int | None = None


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask; all cores where that is unknown)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def cpu_model_name() -> str:
    """The processor's name as the kernel reports it ("Intel(R) Xeon(R) Processor"), "" where unknown:
    what measured speed choices and benchmark figures are valid for."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def physical_memory() -> int | None:
    """The machine's RAM in bytes (what a CPU run can use at most), or None where it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def list_devices() -> list[DeviceInfo]:
    """What this machine can train on, best first: every CUDA GPU by name, Apple MPS, the CPU."""
    devices = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            gib = props.total_memory / 2**30
            devices.append(DeviceInfo(f"cuda:{i}", f"GPU {i}: {props.name} ({gib:.0f} GiB)", props.total_memory))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(DeviceInfo("mps", "Apple GPU (MPS)"))
    devices.append(DeviceInfo("cpu", f"CPU ({usable_cores()} threads)", physical_memory()))
    return devices


def resolve_device(name: str, distributed: bool = False) -> torch.device:
    """auto: CUDA, then Apple MPS, then CPU. Under torchrun each process takes GPU LOCAL_RANK."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda was asked for but no CUDA GPU is available; use --device cpu")
        local = int(os.environ.get("LOCAL_RANK", "0")) if distributed else 0
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("--device mps was asked for but Apple MPS is not available; use --device cpu")
    if name not in ("cpu", "mps"):
        raise ConfigError(f"unknown device {name!r}; choose auto, cpu, cuda or mps")
    return torch.device(name)


def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bfloat16 in hardware (AVX512-BF16 or AMX); elsewhere bf16 is emulated
    and slower than float32."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_bf16(dtype: str, device: torch.device) -> bool:
    """auto: bf16 autocast on CUDA GPUs that support it and on CPUs with native bf16; float32 elsewhere."""
    if dtype == "float32":
        return False
    if dtype == "bfloat16":
        return True
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_native_bf16()
