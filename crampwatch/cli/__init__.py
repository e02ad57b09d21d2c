"""Command-line interface: ``crampwatch <command>`` (contracts.md). The full app is :mod:`crampwatch.cli.main`."""
