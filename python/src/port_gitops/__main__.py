"""`python -m port_gitops …` — the same entry point as the `port-gitops` console script."""

from port_gitops.cli import main

raise SystemExit(main())
