"""`python -m pipeline` is the `nrr` command."""

import sys

from pipeline.cli import main

sys.exit(main())
