"""``python -m freqaug`` runs the command line."""
import sys

from freqaug.cli import main

sys.exit(main())
