"""docs/obs.md shows exactly the code the example DAGs run.

Each snippet in the guide is preceded by ``<!-- literalinclude: <path> <name> -->`` (the path relative
to docs/) and must equal the code between ``# [START <name>]`` and ``# [END <name>]`` in that file,
dedented. A failure prints the block to paste.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "obs.md"
INCLUDE = re.compile(
    r"<!-- literalinclude: (?P<path>\S+) (?P<name>\S+) -->\n```python\n(?P<code>.*?)\n```", re.S
)


def marked_region(path: Path, name: str) -> str:
    text = path.read_text()
    starts = re.findall(rf"^[ \t]*# \[START {re.escape(name)}\]$", text, re.M)
    ends = re.findall(rf"^[ \t]*# \[END {re.escape(name)}\]$", text, re.M)
    assert (len(starts), len(ends)) == (1, 1), f"{path.name}: want one START and one END marker for {name}"
    found = re.search(
        rf"^[ \t]*# \[START {re.escape(name)}\]\n(.*?)^[ \t]*# \[END {re.escape(name)}\]$", text, re.S | re.M
    )
    assert found, f"{path.name}: the END marker of {name} comes before its START"
    return textwrap.dedent(found.group(1)).strip("\n")


def includes() -> list[re.Match[str]]:
    return list(INCLUDE.finditer(GUIDE.read_text()))


def test_the_guide_has_included_snippets() -> None:
    text = GUIDE.read_text()
    assert len(includes()) == text.count("<!-- literalinclude:") >= 10  # none malformed


@pytest.mark.parametrize("include", includes(), ids=lambda m: m["name"])
def test_every_snippet_is_the_marked_code_of_its_example(include: re.Match[str]) -> None:
    path = (GUIDE.parent / include["path"]).resolve()
    assert path.is_file(), f"{include['path']} does not exist"
    expected = marked_region(path, include["name"])
    assert include["code"] == expected, f"docs/obs.md, {include['name']}: paste\n```python\n{expected}\n```"


def test_every_marked_example_is_in_the_guide() -> None:
    referenced = {(Path(m["path"]).name, m["name"]) for m in includes()}
    marked = {
        (path.name, name)
        for path in (ROOT / "examples" / "dags").glob("obs_*.py")
        for name in re.findall(r"# \[START (\S+)\]", path.read_text())
    }
    assert marked == referenced
