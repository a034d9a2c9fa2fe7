"""SMN delivery: the HTTP(S) push of outbox rows, in the background.

Every message SMN would send becomes one outbox row (see :mod:`.state`). Email, SMS and the other
protocols the emulator cannot reach stay there (status ``delivered``: the outbox is their inbox); HTTP
and HTTPS endpoints are sent a real ``POST`` in the background, never in the request that published the
message, with a per-attempt timeout and a few retries. Rows still ``pending`` when the emulator stopped
are resumed when it serves again.

A push carries the headers ``X-SMN-MESSAGE-TYPE``, ``X-SMN-MESSAGE-ID``, ``X-SMN-TOPIC-URN`` (and
``X-SMN-SUBSCRIPTION-URN`` for notifications) and the document of :mod:`.messages` as its body.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

from .records import DELIVERED, FAILED, NOTIFICATION, PENDING, PUSHED_PROTOCOLS, OutboxEntry
from .state import Outbox

log = logging.getLogger("huaweicloud_emulator.smn")

_MAX_RESPONSE_READ = 64 * 1024


def _opener() -> urllib.request.OpenerDirector:
    # The emulator pushes straight to the endpoint, as the cloud does: no proxy from the environment,
    # and no certificate check, so that a local HTTPS subscriber with a self-signed certificate works.
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=insecure)
    )


def push(
    opener: urllib.request.OpenerDirector, url: str, body: bytes, headers: Mapping[str, str], timeout: float
) -> tuple[int | None, str | None]:
    """One blocking ``POST``; returns the HTTP status (None when there was no answer) and an error text."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(_MAX_RESPONSE_READ)
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return status, None if 200 <= status < 300 else f"HTTP {status}"


def push_headers(entry: OutboxEntry) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json; charset=UTF-8",
        "User-Agent": "huaweicloud-emulator-smn",
        "X-SMN-MESSAGE-TYPE": entry.type,
        "X-SMN-MESSAGE-ID": entry.message_id,
        "X-SMN-TOPIC-URN": entry.topic_urn,
    }
    if entry.type == NOTIFICATION:
        headers["X-SMN-SUBSCRIPTION-URN"] = entry.subscription_urn
    return headers


class Deliverer:
    """Pushes pending outbox rows to their HTTP(S) endpoints in background tasks of the event loop.

    Each attempt runs in a thread of its own small pool (a slow endpoint must not take the threads the
    storage calls of other requests use), times out after ``timeout`` seconds, and is followed by a
    pause of ``backoff * 2**n`` before the next; after ``attempts`` tries the row is ``failed``.
    """

    def __init__(
        self,
        outbox: Outbox,
        *,
        attempts: int = 3,
        timeout: float = 5.0,
        backoff: float = 0.5,
        max_workers: int = 8,
    ):
        self._outbox = outbox
        self.attempts = attempts
        self.timeout = timeout
        self.backoff = backoff
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="smn-delivery")
        self._opener = _opener()
        self._tasks: set[asyncio.Task[None]] = set()
        self._resumed = False
        self._closed = False

    async def resume(self) -> None:
        """Once per process: push again what was still pending when the emulator last stopped."""
        if self._resumed:
            return
        self._resumed = True
        self.schedule(await asyncio.to_thread(self._outbox.pending_ids))

    def schedule(self, entry_ids: Iterable[int]) -> None:
        """Start pushing these rows; returns at once (call from the event loop)."""
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        for entry_id in entry_ids:
            task = loop.create_task(self._deliver(entry_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, entry_id: int) -> None:
        try:
            entry = await asyncio.to_thread(self._outbox.get, entry_id)
            if entry is None or entry.status != PENDING or entry.protocol not in PUSHED_PROTOCOLS:
                return
            body = json.dumps(entry.payload, ensure_ascii=False).encode()
            headers = push_headers(entry)
            loop = asyncio.get_running_loop()
            for attempt in range(entry.attempts + 1, self.attempts + 1):
                if self._closed:
                    return
                status, error = await loop.run_in_executor(
                    self._executor, push, self._opener, entry.endpoint, body, headers, self.timeout
                )
                delivered = status is not None and 200 <= status < 300
                final = delivered or attempt >= self.attempts
                outcome = DELIVERED if delivered else FAILED if final else PENDING
                await asyncio.to_thread(
                    self._outbox.record_attempt, entry_id, outcome, attempt, status, error
                )
                if final:
                    return
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
        except asyncio.CancelledError:
            raise
        except Exception:  # the storage closed under us at shutdown, or a bug: never crash the server
            if not self._closed:
                log.exception("SMN delivery of outbox entry %s failed", entry_id)

    def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
