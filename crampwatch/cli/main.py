"""Assembles the ``crampwatch`` command from one module per command and runs it."""

from __future__ import annotations

# Each command module registers its commands on ``app`` when imported.
from crampwatch.cli import (  # noqa: F401
    analyze_cmd,
    calibrate_cmd,
    cohort_cmd,
    fit_cmd,
    history_cmd,
    optimize_cmd,
    simulate_cmd,
    store_cmd,
    validate_cmd,
    watch_cmd,
    web_cmd,
    weekly_cmd,
    worker_cmd,
)
from crampwatch.cli.app import app


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]

if __name__ == "__main__":
    main()
