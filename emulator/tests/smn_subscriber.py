"""A real local HTTP endpoint for SMN subscriptions, shared by the emulator's and the provider's tests.

It records every POST it is sent (headers and JSON body) and, like a real subscriber, confirms a
subscription by fetching the ``subscribe_url`` of the ``SubscriptionConfirmation`` it receives.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Straight to the emulator, whatever proxy the environment names.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float

    @property
    def type(self) -> str:
        return str(self.body.get("type"))


class Subscriber:
    def __init__(self, *, auto_confirm: bool = True, fail_first: int = 0, delay: float = 0.0):
        self.auto_confirm = auto_confirm
        self.fail_first = fail_first  # answer the first N notifications with 500
        self.delay = delay  # seconds to wait before answering a notification
        self.received: list[Received] = []
        self.confirmed: list[str] = []
        self._changed = threading.Condition()
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                status = 200
                if got.type == "SubscriptionConfirmation" and subscriber.auto_confirm:
                    # Confirm first, record after: whoever waits for the message finds it confirmed.
                    with _DIRECT.open(body["subscribe_url"], timeout=10) as answer:
                        subscriber.confirmed.append(json.loads(answer.read())["subscription_urn"])
                subscriber._record(got)
                if got.type == "Notification":
                    time.sleep(subscriber.delay)
                    if subscriber.fail_first > 0:
                        subscriber.fail_first -= 1
                        status = 500
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/smn-hook"

    def _record(self, got: Received) -> None:
        with self._changed:
            self.received.append(got)
            self._changed.notify_all()

    def wait_for(
        self, predicate: Callable[[Received], bool], timeout: float = 15.0, count: int = 1
    ) -> list[Received]:
        """The first ``count`` received messages that match, waiting for them up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [r for r in self.received if predicate(r)]
                if len(found) >= count:
                    return found[:count]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} matching message(s), got {self.received!r}")
                self._changed.wait(remaining)

    def notifications(self, message_id: str | None = None) -> list[Received]:
        with self._changed:
            return [
                r
                for r in self.received
                if r.type == "Notification" and (message_id is None or r.body.get("message_id") == message_id)
            ]

    def start(self) -> Subscriber:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def running_subscriber(**settings: Any) -> Iterator[Subscriber]:
    subscriber = Subscriber(**settings).start()
    try:
        yield subscriber
    finally:
        subscriber.stop()
