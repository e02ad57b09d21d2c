"""Command-line interface (docs/formats.md); the full app is :mod:`crampwatch.cli.main`."""
