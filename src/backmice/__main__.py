"""`python -m backmice` runs the command-line interface."""

from __future__ import annotations

from backmice.cli import main

main()
