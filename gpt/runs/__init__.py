"""Training runs on disk and the job manager that starts them.

A run folder (``runs/<run_id>/``) is the contract between the worker that writes it and the
pages that read it; ``docs/run-folder.md`` describes every file. Modules:

- ``layout``: the folder's file names, the ``RunState`` enum, atomic JSON helpers;
- ``writer``: what the worker writes (status, metrics, samples, probes, checkpoints);
- ``reader``: what the pages read, tolerant of a worker writing at the same moment;
- ``jobs``: the ``JobManager`` (one per server process) with its per-device queue;
- ``worker``: starting a worker process and reading its exit; ``inputs``: run names, uploads;
- ``export``: ``python -m gpt.runs.export`` ships a run's checkpoint as a model.

The app imports from here, never from the modules inside.
"""

from gpt.runs.inputs import MAX_UPLOAD_BYTES, JobError, check_upload, sanitize_run_name
from gpt.runs.jobs import MAX_QUEUED, JobManager, QueueEntry
from gpt.runs.layout import RunState
from gpt.runs.reader import (
    SCORE_KINDS,
    Metrics,
    ProbeHistory,
    ProbeRecord,
    RunInfo,
    dir_size,
    eta_seconds,
    head_score_series,
    list_runs,
    probe_file,
    probe_has_qk,
    read_metrics,
    read_probe_history,
    read_probe_qk,
    read_probe_records,
    read_probe_weights,
    read_run,
    read_samples,
)
from gpt.runs.worker import DEFAULT_COMMAND

__all__ = [
    "DEFAULT_COMMAND",
    "MAX_QUEUED",
    "MAX_UPLOAD_BYTES",
    "SCORE_KINDS",
    "JobError",
    "JobManager",
    "Metrics",
    "ProbeHistory",
    "ProbeRecord",
    "QueueEntry",
    "RunInfo",
    "RunState",
    "check_upload",
    "dir_size",
    "eta_seconds",
    "head_score_series",
    "list_runs",
    "probe_file",
    "probe_has_qk",
    "read_metrics",
    "read_probe_history",
    "read_probe_qk",
    "read_probe_records",
    "read_probe_weights",
    "read_run",
    "read_samples",
    "sanitize_run_name",
]
