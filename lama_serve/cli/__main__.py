"""`python -m lama_serve.cli`."""

import sys

from lama_serve.cli import main

sys.exit(main())
