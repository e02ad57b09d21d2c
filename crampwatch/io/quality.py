"""The data-quality report of a reader: rows read and used, dropped rows, and each issue with its rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DataIssue:
    """One data-quality finding: the rows (1-based data rows) and column concerned, what and what was done."""

    column: str | None
    problem: str
    action: str
    rows: list[int] = field(default_factory=list)

    def message(self) -> str:
        where = f"column {self.column}" if self.column else "file"
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:5])
            more = f" (+{len(self.rows) - 5} more)" if len(self.rows) > 5 else ""
            where += f", row{'s' if len(self.rows) > 1 else ''} {shown}{more}"
        return f"{where}: {self.problem}; {self.action}"


class IssueLog:
    """The issues a reader finds while it cleans a file, in the order found (its steps add to one log; the
    reader returns them in a :class:`DataQualityReport`)."""

    def __init__(self) -> None:
        self.issues: list[DataIssue] = []

    def add(self, column: str | None, problem: str, action: str, rows: list[int] | None = None) -> None:
        self.issues.append(DataIssue(column, problem, action, list(rows or [])))


@dataclass(frozen=True)
class DataQualityReport:
    """What a reader found and did: rows read/used, dropped rows, and every issue."""

    n_rows_read: int = 0
    n_rows_used: int = 0
    dropped_rows: list[int] = field(default_factory=list)
    issues: list[DataIssue] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues

    def messages(self) -> list[str]:
        out = [i.message() for i in self.issues]
        if self.ignored_columns:
            out.append(f"ignored unknown columns: {', '.join(self.ignored_columns)}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_rows_read": self.n_rows_read,
            "n_rows_used": self.n_rows_used,
            "dropped_rows": self.dropped_rows,
            "issues": self.messages(),
        }
