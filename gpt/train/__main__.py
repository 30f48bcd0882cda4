"""``python -m gpt.train``: the training worker's command line (see ``gpt.train.cli``)."""

import os
import sys

from gpt.train.process import TRAINING_OMP_ENV, needs_training_env

if needs_training_env(os.environ):
    # torch (and its OpenMP) loaded with the package above, too early to change the wait policy in
    # this process: start the same command again, same process id, with the policy set.
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], {**os.environ, **TRAINING_OMP_ENV})

from gpt.train.cli import main  # noqa: E402

sys.exit(main())
