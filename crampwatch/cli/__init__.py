"""Command-line interface (contracts.md); the full app is :mod:`crampwatch.cli.main`."""
