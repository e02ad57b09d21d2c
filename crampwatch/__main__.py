"""``python -m crampwatch``: the command-line interface."""

from crampwatch.cli.main import main

main()
