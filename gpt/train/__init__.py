"""Training: the settings schema, presets, data, the trainer loop, devices and the speed probe.

``python -m gpt.train`` is the training worker (``gpt.train.cli``); the app starts it as a child
process and never imports it. What the app and the job manager need is exported here:

- settings: ``TrainSettings`` (the one schema of a run's knobs), ``SettingsError``;
- presets: ``TRAINING_PRESETS``, ``APP_SETTINGS``, ``APP_MAX_LR``;
- devices: ``DeviceInfo``, ``list_devices``;
- the estimate before a run: ``count_params``, ``memory_estimate``, ``corpus_stats``,
  ``probe_in_subprocess`` (a measured speed probe in a child process, one at a time),
  ``ProbeQueue`` (probes in the background, so no page waits: ``ProbeRequest``, ``ProbeStatus``),
  ``estimate_run_seconds``, ``available_memory``;
- child processes: ``child_env`` (no secrets), ``CHILD_NICENESS``.
"""

from gpt.train.device import DeviceInfo, list_devices
from gpt.train.estimate import (
    CorpusStats,
    EstimateError,
    MemoryEstimate,
    ProbeResult,
    available_memory,
    corpus_stats,
    count_params,
    estimate_run_seconds,
    memory_estimate,
    probe_in_subprocess,
)
from gpt.train.presets import APP_MAX_LR, APP_SETTINGS, TRAINING_PRESETS, TrainingPreset
from gpt.train.probe_queue import MAX_WAITING_PROBES, ProbeOutcome, ProbeQueue, ProbeRequest, ProbeStatus
from gpt.train.process import CHILD_NICENESS, child_env
from gpt.train.settings import SettingsError, TrainSettings

__all__ = [
    "APP_MAX_LR",
    "APP_SETTINGS",
    "CHILD_NICENESS",
    "MAX_WAITING_PROBES",
    "TRAINING_PRESETS",
    "CorpusStats",
    "DeviceInfo",
    "EstimateError",
    "MemoryEstimate",
    "ProbeOutcome",
    "ProbeQueue",
    "ProbeRequest",
    "ProbeResult",
    "ProbeStatus",
    "SettingsError",
    "TrainSettings",
    "TrainingPreset",
    "available_memory",
    "child_env",
    "corpus_stats",
    "count_params",
    "estimate_run_seconds",
    "list_devices",
    "memory_estimate",
    "probe_in_subprocess",
]
