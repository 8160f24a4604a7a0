"""``python -m trajml`` runs the command line."""

import sys

from trajml.cli import main

sys.exit(main())
