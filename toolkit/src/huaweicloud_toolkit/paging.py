"""Reading a listing a page at a time, as the caller consumes it: the one paging loop of the service
modules, for APIs paged by offset and limit and for those paged by page number."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")


def offset_pages(fetch: Callable[[int, int], tuple[list[T], int | None]], page_size: int) -> Iterator[T]:
    """Items of an offset/limit listing. ``fetch(offset, limit)`` answers a page and the total count (None
    when the API does not say); an empty or short page, or reaching the count, ends the listing."""
    offset = 0
    while True:
        items, total = fetch(offset, page_size)
        yield from items
        offset += len(items)
        if not items or len(items) < page_size or (total is not None and offset >= total):
            return


def numbered_pages(
    fetch_page: Callable[[int, int], tuple[list[T], int | None]], page_size: int
) -> Iterator[T]:
    """Items of a listing paged by number: ``fetch_page(page, page_size)``, pages counted from 1, answers a
    page and the total count."""
    return offset_pages(lambda offset, limit: fetch_page(offset // limit + 1, limit), page_size)
