"""The console's HTML: escaping, the few elements its pages use, and the page layout.

Every value reaches a page through :func:`escape`, or inside a :class:`Markup` that this module built
from escaped parts, so nothing a client stored (a key, a SQL text, a message) is ever read as markup.
Pages carry a Content-Security-Policy that allows no script at all: the console is plain HTML.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Sequence
from urllib.parse import quote, urlencode

from ..http import Response

ROOT = "/_emulator/console"
# The sections: (label, path, what the page shows), in the order of the navigation bar and the index.
SECTIONS = (
    ("OBS", f"{ROOT}/obs", "buckets; a bucket's objects by folder, a page at a time; downloads"),
    ("DLI SQL", f"{ROOT}/dli/sql", "SQL jobs: state, SQL text, queue; the first rows of a finished query"),
    ("DLI batches", f"{ROOT}/dli/batches", "Spark batch jobs: state, class or file; the tail of their log"),
    ("DWS", f"{ROOT}/dws", "clusters: state, host:port, database, user"),
    ("SMN", f"{ROOT}/smn", "topics and the messages delivered to their subscriptions"),
    ("FunctionGraph", f"{ROOT}/functiongraph", "functions and their asynchronous invocations"),
    ("CSMS", f"{ROOT}/csms", "secret names and versions (never values)"),
    ("MRS", f"{ROOT}/mrs", "clusters and their job executions"),
)

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
nav { background: #24292f; padding: 8px 16px; }
nav a { color: #fff; margin-right: 16px; text-decoration: none; font-weight: 600; }
main { padding: 8px 24px 24px; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 24px; }
table { border-collapse: collapse; background: #fff; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eaeef2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #fff; border: 1px solid #d0d7de; padding: 8px; white-space: pre-wrap; margin: 0; }
td pre { min-width: 36ch; }
code, pre { font: 13px ui-monospace, monospace; }
.muted { color: #656d76; } .crumbs { margin: 8px 0; } .next { margin: 8px 0; font-weight: 600; }
"""
_VOID = frozenset({"input", "meta", "br"})
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class Markup(str):
    """Text that is already HTML: built here from escaped parts, never from a stored value as is."""


def escape(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[object]) -> Markup:
    return Markup("".join(escape(part) for part in parts))


def element(tag: str, /, *children: object, **attributes: object) -> Markup:
    """``<tag attributes>children</tag>`` (a void element, such as ``input``, has no end tag);
    ``class_`` stands for ``class``, an attribute given None is left out."""
    shown = "".join(
        f' {key.rstrip("_")}="{escape(value)}"' for key, value in attributes.items() if value is not None
    )
    if tag in _VOID:
        return Markup(f"<{tag}{shown}>")
    return Markup(f"<{tag}{shown}>{join(children)}</{tag}>")


def link(href: str, *text: object) -> Markup:
    return element("a", *(text or (href,)), href=href)


def url(path: str, **query: str | None) -> str:
    """``path`` with the query parameters that have a value (an empty string is a value)."""
    given = {name: value for name, value in query.items() if value is not None}
    return f"{path}?{urlencode(given)}" if given else path


def segment(text: str) -> str:
    """``text`` as one path segment."""
    return quote(text, safe="")


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], numeric: Sequence[int] = ()) -> Markup:
    """A table; the columns at the indexes ``numeric`` are right-aligned."""
    head = element("tr", *(element("th", h) for h in headers))
    body = [
        element(
            "tr", *(element("td", cell, class_="num" if i in numeric else None) for i, cell in enumerate(row))
        )
        for row in rows
    ]
    return element("table", head, *body)


def facts(pairs: Iterable[tuple[str, object]]) -> Markup:
    """A two-column table of named values."""
    return element(
        "table", *(element("tr", element("th", name), element("td", value)) for name, value in pairs)
    )


def pre(text: object) -> Markup:
    return element("pre", text)


def muted(text: object) -> Markup:
    return element("span", text, class_="muted")


def next_link(href: str | None) -> Markup:
    return element("div", link(href, "next page »"), class_="next") if href else Markup()


def when(epoch_seconds: float | None) -> str:
    """A time stamp as UTC text; empty for none."""
    if not epoch_seconds:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch_seconds))


def when_ms(epoch_ms: int | None) -> str:
    return when(epoch_ms / 1000 if epoch_ms else None)


def shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def page(title: str, *content: object, status: int = 200) -> Response:
    """A whole page: the navigation bar, the title and ``content``."""
    nav = element(
        "nav", link(f"{ROOT}/", "Emulator console"), *(link(path, label) for label, path, _ in SECTIONS)
    )
    document = join(
        [
            Markup("<!DOCTYPE html>"),
            element(
                "html",
                element(
                    "head",
                    element("meta", charset="utf-8"),
                    element("title", f"{title} · huaweicloud-emulator"),
                    element("style", Markup(_STYLE)),
                ),
                element("body", nav, element("main", element("h1", title), *content)),
                lang="en",
            ),
        ]
    )
    headers = {"Content-Type": "text/html; charset=utf-8", **_SECURITY_HEADERS}
    return Response(status, headers, document.encode())
