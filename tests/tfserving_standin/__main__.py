"""`python -m tests.tfserving_standin ...` from the repository root."""

from .server import main

raise SystemExit(main())
