"""Where the project's files live: the one home of the repository root and its folders.

Everything that names a folder on disk (bundled assets, runs, GPT-2's weights) starts here, so
moving a folder means changing one line. Two environment variables override the defaults:
``ATTN_EXPLORER_RUNS_DIR`` (tests, lab servers) and ``ATTN_EXPLORER_GPT2_DIR``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository (gpt/ sits directly inside it)
ASSETS_DIR = ROOT / "assets"
DEMO_DIR = ASSETS_DIR / "models"  # one checkpoint folder per demo model
CORPUS_DIR = ASSETS_DIR / "corpora"
DEFAULT_CORPUS = CORPUS_DIR / "shakespeare.txt"
GPT2_BPE_PATH = ASSETS_DIR / "tokenizers" / "r50k_base.tiktoken"
DEFAULT_GPT2_DIR = ROOT / "data" / "gpt2"
# runs/<run_id>/checkpoint is always a run's latest good checkpoint: the model picker (gpt.models)
# and the run-folder code (gpt.runs) both find it under this one name.
CHECKPOINT_DIR = "checkpoint"
_FOLDER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def runs_dir() -> Path:
    """Where training runs live; ATTN_EXPLORER_RUNS_DIR overrides (tests, lab servers)."""
    return Path(os.environ.get("ATTN_EXPLORER_RUNS_DIR", ROOT / "runs"))


def gpt2_dir() -> Path:
    """Where GPT-2's downloaded weights live; ATTN_EXPLORER_GPT2_DIR overrides."""
    return Path(os.environ.get("ATTN_EXPLORER_GPT2_DIR", DEFAULT_GPT2_DIR))


def is_valid_run_id(run_id: str) -> bool:
    """Run and demo-model ids are plain folder names: no path separators, no '..', nothing hidden."""
    return isinstance(run_id, str) and bool(_FOLDER_NAME_RE.match(run_id)) and ".." not in run_id
