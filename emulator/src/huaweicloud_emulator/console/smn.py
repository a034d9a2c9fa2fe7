"""The SMN pages: the topics of each project, and the messages SMN sent -- its outbox, where every
delivery to a subscription (and every subscription confirmation) is recorded, oldest first, by topic."""

from __future__ import annotations

from collections.abc import Mapping

from ..account import Project
from ..services.smn.state import Outbox, SmnState
from ..storage import Storage
from .html import ROOT, Markup, element, join, link, muted, next_link, pre, table, url, when
from .projects import PAGE_SIZE, Listing, offset_listing, offset_of, project_tables

PATH = f"{ROOT}/smn"
MESSAGES_PATH = f"{PATH}/messages"


class SmnPages:
    def __init__(self, storage: Storage):
        self._state = SmnState(storage)
        self._outbox = Outbox(storage.meta)

    def count(self, projects: Mapping[str, Project]) -> int:
        """How many topics there are."""
        return sum(self._state.list_topics(p.id, {}, 0, 0)[0] for p in projects.values())

    def topics(self, projects: Mapping[str, Project], selected: str | None, cursor: str | None) -> Markup:
        def fetch(project: Project, cursor: str | None) -> Listing:
            offset = offset_of(cursor)
            total, topics = self._state.list_topics(project.id, {}, offset, PAGE_SIZE)
            rows = [
                (
                    topic.name,
                    topic.display_name,
                    element("code", topic.urn),
                    when(topic.created_at),
                    link(url(MESSAGES_PATH, topic_urn=topic.urn), "messages"),
                )
                for topic in topics
            ]
            return offset_listing(total, rows, offset)

        headers = ("Topic", "Display name", "URN", "Created", "")
        tables = project_tables(projects, PATH, headers, fetch, selected=selected, cursor=cursor)
        return join([element("p", link(MESSAGES_PATH, "Every message sent, all topics")), tables])

    def messages(self, topic_urn: str, after: int) -> Markup:
        """The outbox a page at a time (of one topic, given its URN), after the row id ``after``."""
        entries = self._outbox.entries({"topic_urn": topic_urn}, after, PAGE_SIZE + 1)
        shown = entries[:PAGE_SIZE]
        rows = [
            (
                entry.id,
                when(entry.created_at),
                entry.type,
                *([] if topic_urn else [element("code", entry.topic_urn)]),  # a topic's: in the title
                element("div", entry.protocol, element("div", muted(entry.endpoint))),
                element("div", entry.status, element("div", muted(entry.error or ""))),
                entry.subject,
                pre(entry.message),
            )
            for entry in shown
        ]
        if not rows:
            return element("p", muted("No messages yet."))
        more = len(entries) > PAGE_SIZE
        next_page = url(MESSAGES_PATH, topic_urn=topic_urn or None, after=str(shown[-1].id)) if more else None
        topic = [] if topic_urn else ["Topic"]
        headers = ("#", "Sent", "Type", *topic, "Protocol / endpoint", "Status", "Subject", "Message")
        return join([table(headers, rows, numeric=(0,)), next_link(next_page)])
