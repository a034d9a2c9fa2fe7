"""What the standalone benchmark modules (``bench.dli_sql``, ``bench.dws_copy``) share: official SDK clients
on an emulator process, objects put into its OBS, timing, progress lines, the printed table and a clean
exit on SIGTERM."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkiam.v3 import IamClient, KeystoneListProjectsRequest
from obs import ObsClient

from bench import report
from huaweicloud_emulator.process import EmulatorProcess

REGION = "cn-north-4"


def sdk_client(client_class: Any, emulator: EmulatorProcess) -> Any:
    """A ``client_class`` client (``DliClient``, ``DwsClient``, ...) on the emulator's root keys, for the
    project of ``REGION``; it does not retry (an error must show, not hide in a slower figure)."""
    iam = (
        IamClient.new_builder()
        .with_credentials(GlobalCredentials(emulator.access_key, emulator.secret_key))
        .with_endpoints([emulator.base_url])
        .build()
    )
    project = iam.keystone_list_projects(KeystoneListProjectsRequest(name=REGION)).projects[0].id
    config = HttpConfig.get_default_config()
    config.retry_times = 0
    return (
        client_class.new_builder()
        .with_credentials(BasicCredentials(emulator.access_key, emulator.secret_key, project))
        .with_http_config(config)
        .with_endpoints([emulator.base_url])
        .build()
    )


def obs_put(emulator: EmulatorProcess, bucket: str, objects: Mapping[str, Path | str]) -> None:
    """Create ``bucket`` in the emulator's OBS and put each object into it: a Path is uploaded as a file
    (one PUT), a str as the object's content."""
    obs = ObsClient(emulator.access_key, emulator.secret_key, server=emulator.base_url, path_style=True)
    try:
        results = [obs.createBucket(bucket, location=REGION)]
        for key, body in objects.items():
            put = obs.putFile if isinstance(body, Path) else obs.putContent
            results.append(put(bucket, key, str(body) if isinstance(body, Path) else body))
        for result in results:
            if result.status >= 300:
                raise RuntimeError(f"OBS said {result.status} {result.errorCode}: {result.errorMessage}")
    finally:
        obs.close()


def timed(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return time.perf_counter() - started, result


def repeats(values: Iterable[float]) -> str:
    return "/".join(f"{v:.3g}" for v in values)


def say(message: str) -> None:
    """A progress line on stderr, named after the benchmark running (``python -m bench.<name>``)."""
    name = getattr(sys.modules["__main__"].__spec__, "name", "bench")
    print(f"[{name} {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def table(rows: Iterable[report.Row]) -> str:
    """The suite's table, without its footnote on issue 6's targets (these modules' targets are others)."""
    return report.render(rows).rsplit("\n\n* ", 1)[0]


def exit_on_sigterm() -> None:
    """Make SIGTERM unwind the ``finally`` blocks, as Ctrl-C does: the emulator stops, temp files go."""

    def _exit(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)
