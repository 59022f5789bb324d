"""`python -m ui.cli ...` runs the `shopguide` command."""

from ui.cli import main

main()
