"""`python -m core ...`: the command line of the model core."""

from core.cli import main

raise SystemExit(main())
