"""Rows of the benchmark table, their targets, the printed table and its JSON twin.

Every figure is judged against a peer measured in the same run (a ratio), because absolute numbers on a
shared 2-core machine move with whatever else runs; a ratio of two figures taken minutes apart moves far
less. A row without a number carries the reason instead, so the table is always complete: ``na`` for a
reason the harness names in advance (``not_measured``: e.g. a package this machine cannot install),
``error`` when the measurement crashed, which fails the run.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

MiB = 1024 * 1024
T = TypeVar("T")


@dataclass(frozen=True)
class Target:
    """What a row must reach. ``basis``: ``ratio`` (value / peer), ``ceiling`` (value / ceiling) or
    ``value`` (the figure itself). ``op``: ``>=``, ``<=`` or ``<``."""

    basis: str
    op: str
    threshold: float
    source: str = "issue"  # "issue": a target of issue 6; "suite": one this suite adds

    def describe(self, unit: str) -> str:
        suffix = {"ratio": "x peer", "ceiling": "x ceiling"}.get(self.basis, f" {unit}")
        mark = "" if self.source == "issue" else "*"
        return f"{self.op} {self.threshold:g}{suffix}{mark}"

    def met(self, figure: float) -> bool:
        if self.op == ">=":
            return figure >= self.threshold
        if self.op == "<=":
            return figure <= self.threshold
        return figure < self.threshold


@dataclass
class Row:
    """One measured figure: ``value`` of ``subject`` doing ``name``, beside its peer and ceiling."""

    id: str
    group: str
    name: str
    subject: str
    unit: str
    value: float | None = None
    peer: str = ""  # what the ratio divides by, e.g. "boto3" or "loopback bound"
    peer_value: float | None = None
    ceiling: float | None = None  # the same client against a server that does nothing
    target: Target | None = None
    na: str = ""  # why there is no number: a reason the harness named (not_measured)
    error: str = ""  # what crashed while measuring: the run fails
    note: str = ""  # what limits the figure, or detail behind it
    extra: dict[str, float | str | None] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return _divide(self.value, self.peer_value)

    @property
    def ceiling_ratio(self) -> float | None:
        return _divide(self.value, self.ceiling)

    @property
    def status(self) -> str:
        if self.error:
            return "ERROR"
        if self.value is None:
            return "n/a"
        if self.target is None:
            return "-"
        figure = {"ratio": self.ratio, "ceiling": self.ceiling_ratio}.get(self.target.basis, self.value)
        if figure is None:
            return "n/a"
        return "PASS" if self.target.met(figure) else "MISS"

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["target"] = self.target.describe(self.unit) if self.target else None
        data.update(ratio=self.ratio, ceiling_ratio=self.ceiling_ratio, status=self.status)
        return data


def _divide(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def not_measured(row: Row, reason: str) -> Row:
    row.value = None
    row.na = reason
    return row


def crashed(row: Row, error: str) -> Row:
    row.value = None
    row.error = error[:400]
    return row


def attempt(row: Row, fill: Callable[[Row], object]) -> Row:
    """``fill(row)`` sets the row's figures. A failure is a crash, kept as the row's error (the other
    rows are still measured): only the harness itself says a row cannot be measured (``not_measured``)."""
    try:
        fill(row)
    except Exception as error:
        crashed(row, str(error) if isinstance(error, RuntimeError) else f"{type(error).__name__}: {error}")
    return row


def peer_or_none(measure: Callable[[], T]) -> T | None:
    """A peer's figure for a row, or None if it could not be taken: the peer's own row reports why."""
    try:
        return measure()
    except Exception:  # reported by the peer's row
        return None


def _number(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    magnitude = abs(x)
    if magnitude >= 1000:
        return f"{x:,.0f}"
    if magnitude >= 100:
        return f"{x:.0f}"
    if magnitude >= 10:
        return f"{x:.1f}"
    if magnitude >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


# The printed table -----------------------------------------------------------------------------

COLUMNS = ("benchmark", "subject", "figure", "peer", "ratio", "ceiling", "target", "status")


def _cells(row: Row) -> list[str]:
    figure = "n/a" if row.value is None else f"{_number(row.value)} {row.unit}"
    peer = f"{row.peer} {_number(row.peer_value)}" if row.peer else ""
    ceiling = "" if row.ceiling is None else f"{_number(row.ceiling)} ({_ratio(row.ceiling_ratio)})"
    target = row.target.describe(row.unit) if row.target else ""
    return [
        row.name,
        row.subject,
        figure,
        peer,
        _ratio(row.ratio) if row.peer else "",
        ceiling,
        target,
        row.status,
    ]


def render(rows: Iterable[Row]) -> str:
    rows = list(rows)
    table = [list(COLUMNS)] + [_cells(r) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    out: list[str] = []
    group = None
    for index, line in enumerate(table):
        row = rows[index - 1] if index else None
        if row is not None and row.group != group:
            group = row.group
            out.append(f"\n== {group}")
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if row is not None and (row.error or row.na or row.note):
            detail = f"crashed: {row.error}" if row.error else f"n/a: {row.na}" if row.na else row.note
            out.append(f"{'':4}{detail}")
    out.append(
        "\n* a target this suite adds (the others are issue 6's). ceiling: the same client against a "
        "do-nothing server in this run."
    )
    return "\n".join(out)


# Machine and JSON ---------------------------------------------------------------------------------


def machine() -> dict[str, object]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (math.nan,) * 3
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
        "load_at_end": [round(x, 2) for x in load],
        "git": _git_revision(),
    }


def _git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def write_json(path: Path, rows: Iterable[Row], settings: dict[str, object], started: float) -> None:
    document = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 1),
        "machine": machine(),
        "settings": settings,
        "rows": [row.as_dict() for row in rows],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, default=str) + "\n")
