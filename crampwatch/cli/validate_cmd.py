"""``crampwatch validate``: run every published check of the model and report published vs model values."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from crampwatch.cli.app import app, fail, handle_input_errors
from crampwatch.validation import rich_table, run_checks, to_json, to_markdown

#: Exit code when a check fails (input errors exit with 2).
EXIT_CHECK_FAILED = 1


@app.command("validate")
@handle_input_errors
def validate(
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON instead of a table."),
    markdown: Path | None = typer.Option(
        None, "--markdown", help="Also write the results as Markdown to this file (e.g. docs/validation.md)."
    ),
    check: list[str] = typer.Option([], "--check", help="Run only this check (by id); repeatable."),
) -> None:
    """Compare the model with every published number it is calibrated or validated against.

    Exit status 0 when every check passes or falls short only where the model's known gaps are documented
    (shown as "gap"), 1 when any other check fails, 2 on bad input.
    """
    if markdown is not None and not markdown.resolve().parent.is_dir():
        fail(f"--markdown: folder {str(markdown.parent)!r} does not exist")
    if markdown is not None and markdown.is_dir():
        fail(f"--markdown: {str(markdown)!r} is a folder, expected a file name")
    results = run_checks(check or None)
    if markdown is not None:
        tmp = markdown.with_name(markdown.name + ".tmp")
        tmp.write_text(to_markdown(results) + "\n", encoding="utf-8")
        tmp.replace(markdown)  # never a half-written file
    if as_json:
        typer.echo(to_json(results))
    else:
        Console().print(rich_table(results))
    if any(not r.passed and not r.check.gap for r in results):
        raise typer.Exit(EXIT_CHECK_FAILED)
