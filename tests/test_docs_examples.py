"""The guides in docs/ show exactly the code the example DAGs run (and the tests run the DAGs).

Each snippet in a guide is preceded by ``<!-- literalinclude: <path> <name> -->`` (the path relative
to docs/) and must equal the code between ``# [START <name>]`` and ``# [END <name>]`` in that file,
dedented. Every marked region of an example DAG is shown in some guide. A failure prints the block
to paste.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDES = sorted((ROOT / "docs").glob("*.md"))
EXAMPLES = sorted((ROOT / "examples" / "dags").glob("*.py"))
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


def includes() -> list[tuple[Path, re.Match[str]]]:
    return [(guide, match) for guide in GUIDES for match in INCLUDE.finditer(guide.read_text())]


@pytest.mark.parametrize("guide", GUIDES, ids=lambda path: path.name)
def test_no_include_is_malformed(guide: Path) -> None:
    text = guide.read_text()
    assert len(list(INCLUDE.finditer(text))) == text.count("<!-- literalinclude:")


@pytest.mark.parametrize(("guide", "include"), includes(), ids=lambda value: getattr(value, "name", None))
def test_every_snippet_is_the_marked_code_of_its_example(guide: Path, include: re.Match[str]) -> None:
    path = (guide.parent / include["path"]).resolve()
    assert path.is_file(), f"{guide.name}: {include['path']} does not exist"
    expected = marked_region(path, include["name"])
    assert include["code"] == expected, f"{guide.name}, {include['name']}: paste\n```python\n{expected}\n```"


def test_every_marked_example_is_in_a_guide() -> None:
    shown = {(Path(match["path"]).name, match["name"]) for _, match in includes()}
    marked = {
        (path.name, name) for path in EXAMPLES for name in re.findall(r"# \[START (\S+)\]", path.read_text())
    }
    assert marked == shown
    assert len(shown) >= 10


def test_every_test_file_the_docs_name_exists() -> None:
    """A guide that says "this test checks it" must name a test that is there."""
    named = {
        (document.name, path)
        for document in [*GUIDES, ROOT / "README.md"]
        for path in re.findall(r"\b((?:[a-z_]+/)*tests/[\w/]+\.py)\b", document.read_text())
    }
    assert named, "no guide names a test file: this check looks for the wrong pattern"
    assert sorted((doc, path) for doc, path in named if not (ROOT / path).exists()) == []
