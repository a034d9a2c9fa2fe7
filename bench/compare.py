"""Do two runs agree? Compares each row's judged figure (its ratio to the peer; else to the ceiling; else the
figure itself) between two result files.

    python -m bench.compare bench/results/previous.json bench/results/latest.json [--tolerance 0.2]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def judged(row: dict[str, Any]) -> tuple[str, float | None]:
    """The figure a row is read by: what its target looks at, else its first ratio."""
    target = row.get("target") or ""
    if "ceiling" in target or (not row.get("peer") and row.get("ceiling_ratio") is not None):
        return "x ceiling", row.get("ceiling_ratio")
    if row.get("peer") and row.get("ratio") is not None:
        return f"x {row['peer']}", row["ratio"]
    return row.get("unit", ""), row.get("value")


def compare(old: dict[str, Any], new: dict[str, Any], tolerance: float) -> tuple[list[str], int, int]:
    before = {row["id"]: row for row in old["rows"]}
    lines, agreeing, compared = [], 0, 0
    for row in new["rows"]:
        previous = before.get(row["id"])
        if previous is None:
            continue
        what, a = judged(previous)
        _, b = judged(row)
        if a is None or b is None or a == 0:
            lines.append(f"{row['id']:<36} {'n/a':>10} {'n/a':>10}")
            continue
        change = b / a - 1
        compared += 1
        ok = abs(change) <= tolerance
        agreeing += ok
        lines.append(
            f"{row['id']:<36} {a:>10.3g} {b:>10.3g} {change:>+8.0%}  {'ok' if ok else 'DIFFERS'}  ({what})"
        )
    return lines, agreeing, compared


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--tolerance", type=float, default=0.2, help="relative change that still agrees")
    args = parser.parse_args(argv)
    old, new = json.loads(args.old.read_text()), json.loads(args.new.read_text())
    lines, agreeing, compared = compare(old, new, args.tolerance)
    print(f"{'row':<36} {'old':>10} {'new':>10} {'change':>8}")
    print("\n".join(lines))
    print(
        f"\n{agreeing} of {compared} figures agree within {args.tolerance:.0%} "
        f"(runs of {old.get('started')} and {new.get('started')})."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
