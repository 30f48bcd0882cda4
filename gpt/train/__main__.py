"""``python -m gpt.train``: the training worker's command line (see ``gpt.train.cli``)."""

import sys

from gpt.train.cli import main

sys.exit(main())
