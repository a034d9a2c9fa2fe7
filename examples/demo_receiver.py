"""An HTTP endpoint on 127.0.0.1 that subscribes to an SMN topic, as a team's webhook would.

SMN pushes each message as a JSON document (``type``, ``topic_urn``, ``subject``, ``message``, ...). A
``SubscriptionConfirmation`` is confirmed by fetching its ``subscribe_url``; a ``Notification`` is kept.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class NotificationReceiver:
    """Receives SMN pushes at :attr:`url` in a background thread; :attr:`notifications` holds the
    ``Notification`` documents received, in order."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        self.confirmed = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver._received(
                    json.loads(body or b"{}")
                )  # before answering: SMN counts it delivered then
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the demo prints its own
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/smn"
        self._thread = threading.Thread(target=self._server.serve_forever, name="smn-receiver", daemon=True)

    def _received(self, document: dict[str, Any]) -> None:
        if document.get("type") == "SubscriptionConfirmation":
            with urllib.request.urlopen(document["subscribe_url"], timeout=10):
                self.confirmed.set()
        elif document.get("type") == "Notification":
            with self._lock:
                self.notifications.append(document)

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.notifications)

    def __enter__(self) -> NotificationReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
