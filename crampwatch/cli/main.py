"""Assembles the ``crampwatch`` command from one module per command and runs it."""

from __future__ import annotations

import importlib

from crampwatch.cli.app import app

COMMAND_MODULES = (
    "simulate_cmd",
    "analyze_cmd",
    "optimize_cmd",
    "weekly_cmd",
    "store_cmd",
    "web_cmd",
    "cohort_cmd",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"crampwatch.cli.{_name}")


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]

if __name__ == "__main__":
    main()
