"""``hwcloud obs cp`` beside ``aws s3 cp`` (awscli from PyPI), against the same emulator process in the same
run: issue 19's bench "Must show".

    python -m bench.cli_cp              # a 1 GiB file and 1,000 files of 4 KiB, three rounds (~10 minutes)
    python -m bench.cli_cp --quick      # 128 MiB and 200 files, one round
    python -m bench.cli_cp --json /tmp/cli.json

awscli is installed at bench time into a throwaway venv in the run's temp dir (``pip install awscli``:
PyPI must be reachable; it is not in the workspace's lock). Each round, the two tools take turns (the
first one alternates), each a fresh process as a CI step runs it, timed from start to exit:

1. upload the large file (``cp FILE obs://b/k`` / ``s3 cp FILE s3://b/k``), download a large object (the
   same one for both, put there once beforehand by the toolkit), in MiB/s;
2. upload a folder of small files (``--recursive``), download a prefix of as many small objects (again
   the same for both), in files/s;
3. start-up: ``--version`` of each, 10 runs alternating, median seconds.

hwcloud signs with OBS's own scheme and runs with its defaults (16 MiB multipart threshold, 8 MiB parts,
10 in flight); awscli signs SigV4 (path-style addressing, as for any S3-compatible endpoint) with its
defaults (8 MiB threshold and parts, 10 requests in flight), ``--only-show-errors``. Every figure is the
median of the rounds and is printed beside the other tool's (see bench/README.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable
from pathlib import Path

from bench import report
from bench.report import MiB, Row, Target, not_measured
from bench.standalone import REGION, exit_on_sigterm, obs_put, repeats, say, table
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_toolkit import Session
from huaweicloud_toolkit.obs import upload_file

GROUP = "hwcloud obs cp vs aws s3 cp (awscli), same emulator"
BUCKET = "bench-cli"
SMALL_SIZE = 4 * 1024
STARTUP_RUNS = 10
COMMAND_TIMEOUT = 1800
AWSCLI = "awscli"  # the PyPI distribution, latest


def hwcloud_command() -> list[str]:
    """The console script when the environment has it, else the module (the same code)."""
    script = Path(sys.executable).with_name("hwcloud")
    return [str(script)] if script.exists() else [sys.executable, "-m", "huaweicloud_toolkit.cli"]


def install_awscli(workdir: Path) -> Path:
    """``aws`` in a throwaway venv under ``workdir``; RuntimeError when pip cannot install it."""
    home = workdir / "awscli-venv"
    venv.create(home, with_pip=True)
    done = subprocess.run(
        [home / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", AWSCLI],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pip install {AWSCLI} failed: {done.stderr.strip()[-300:]}")
    return home / "bin" / "aws"


class Tools:
    """How each tool is run against the emulator: its command line and its environment."""

    def __init__(self, emulator: EmulatorProcess, aws: Path | None, workdir: Path):
        base = {k: v for k, v in os.environ.items() if not k.startswith(("HUAWEICLOUD_", "AWS_"))}
        self.hwcloud = hwcloud_command()
        self.hwcloud_env = base | {
            "HUAWEICLOUD_SDK_AK": emulator.access_key,
            "HUAWEICLOUD_SDK_SK": emulator.secret_key,
            "HUAWEICLOUD_SDK_REGION": REGION,
            "HUAWEICLOUD_ENDPOINT": emulator.base_url,
        }
        self.aws = str(aws) if aws else None
        self.endpoint = emulator.base_url
        config = workdir / "aws-config"
        config.write_text(f"[default]\nregion = {REGION}\ns3 =\n    addressing_style = path\n")
        self.aws_env = base | {
            "AWS_ACCESS_KEY_ID": emulator.access_key,
            "AWS_SECRET_ACCESS_KEY": emulator.secret_key,
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "no-credentials"),
        }

    def run(self, tool: str, *args: str) -> float:
        """Seconds from start to exit of one ``obs`` / ``s3`` command; RuntimeError if it failed."""
        if tool == "hwcloud":
            command = [*self.hwcloud, "obs", *args]
        else:
            assert self.aws is not None
            command = [self.aws, "s3", *args, "--endpoint-url", self.endpoint, "--only-show-errors"]
        started = time.perf_counter()
        done = subprocess.run(
            command, env=self._env(tool), capture_output=True, text=True, timeout=COMMAND_TIMEOUT
        )
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:4])}... exited {done.returncode}: {done.stderr[-300:]}")
        return elapsed

    def version(self, tool: str) -> float:
        """Seconds from start to exit of ``--version``: the tool's start-up."""
        command = [*self.hwcloud, "--version"] if tool == "hwcloud" else [str(self.aws), "--version"]
        started = time.perf_counter()
        subprocess.run(command, env=self._env(tool), capture_output=True, check=True, timeout=120)
        return time.perf_counter() - started

    def aws_version(self) -> str:
        """What ``aws --version`` says (``aws-cli/1.46.3 Python/3.11.7 ... botocore/1.44.3``)."""
        done = subprocess.run(
            [str(self.aws), "--version"], env=self.aws_env, capture_output=True, text=True, timeout=120
        )
        return (done.stdout or done.stderr).strip()

    def url(self, tool: str, key: str) -> str:
        return f"{'obs' if tool == 'hwcloud' else 's3'}://{BUCKET}/{key}"

    def _env(self, tool: str) -> dict[str, str]:
        return self.hwcloud_env if tool == "hwcloud" else self.aws_env


def make_data(workdir: Path, size: int, files: int) -> tuple[Path, Path]:
    """A ``size``-byte file of random bytes and a folder of ``files`` random 4 KiB files."""
    big = workdir / "big.bin"
    block = os.urandom(64 * MiB)
    with open(big, "wb") as out:
        for offset in range(0, size, len(block)):
            out.write(block[: min(len(block), size - offset)])
    small = workdir / "small"
    small.mkdir()
    for number in range(files):
        (small / f"f{number:05}.bin").write_bytes(os.urandom(SMALL_SIZE))
    return big, small


def seed_downloads(emulator: EmulatorProcess, big: Path, small: Path) -> None:
    """The objects both tools download: the large file and the small ones, put by the toolkit."""
    keys = {"access_key": emulator.access_key, "secret_key": emulator.secret_key}
    with Session(**keys, region=REGION, endpoint=emulator.base_url) as session:
        upload_file(session, big, BUCKET, "download/big.bin")
        client = session.obs_client()
        for path in sorted(small.iterdir()):
            client.putFile(BUCKET, f"download/small/{path.name}", str(path))


def measure(workdir: Path, size: int, files: int, rounds: int) -> list[Row]:
    say("installing awscli into a throwaway venv")
    try:
        aws: Path | None = install_awscli(workdir)
        reason = ""
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        aws, reason = None, str(error)
    say(f"writing {size / MiB:,.0f} MiB and {files:,} files of {SMALL_SIZE // 1024} KiB")
    big, small = make_data(workdir, size, files)
    emulator = EmulatorProcess(workdir / "emulator-data")
    try:
        emulator.start()
        obs_put(emulator, BUCKET, {})
        seed_downloads(emulator, big, small)
        tools = Tools(emulator, aws, workdir)
        subjects = ["hwcloud", "aws"] if aws else ["hwcloud"]
        if aws:
            say(tools.aws_version())
        times: dict[str, dict[str, list[float]]] = {s: {} for s in subjects}

        def step(name: str, tool: str, *args: str) -> None:
            times[tool].setdefault(name, []).append(tools.run(tool, *args))

        for number in range(rounds):
            say(f"round {number + 1} of {rounds}")
            for tool in subjects if number % 2 == 0 else subjects[::-1]:
                down = workdir / f"down-{tool}"
                step("upload_large", tool, "cp", str(big), tools.url(tool, f"up/{tool}/{number}/big.bin"))
                step("download_large", tool, "cp", tools.url(tool, "download/big.bin"), str(down / "big.bin"))
                up = tools.url(tool, f"up/{tool}/{number}/small/")
                step("upload_small", tool, "cp", str(small), up, "--recursive")
                step(
                    "download_small",
                    tool,
                    "cp",
                    tools.url(tool, "download/small/"),
                    str(down / "small"),
                    "--recursive",
                )
                if (
                    len(list((down / "small").iterdir())) != files
                    or (down / "big.bin").stat().st_size != size
                ):
                    raise RuntimeError(f"{tool} did not download everything")
                shutil.rmtree(down)
        say(f"start-up: {STARTUP_RUNS} runs of --version each")
        for _ in range(STARTUP_RUNS):
            for tool in subjects:
                times[tool].setdefault("startup", []).append(tools.version(tool))
    finally:
        emulator.stop()
    return rows(times, size, files, reason)


def rows(times: dict[str, dict[str, list[float]]], size: int, files: int, awscli_missing: str) -> list[Row]:
    mib, rounds = size / MiB, len(times["hwcloud"]["upload_large"])
    faster = Target("ratio", ">=", 1.0)
    steps: list[tuple[str, str, str, Callable[[float], float], Target]] = [
        ("upload_large", f"upload a {mib:,.0f} MiB file", "MiB/s", lambda s: mib / s, faster),
        ("download_large", f"download a {mib:,.0f} MiB object", "MiB/s", lambda s: mib / s, faster),
        (
            "upload_small",
            f"upload {files:,} files of 4 KiB (--recursive)",
            "files/s",
            lambda s: files / s,
            faster,
        ),
        ("download_small", f"download {files:,} objects of 4 KiB", "files/s", lambda s: files / s, faster),
        (
            "startup",
            f"start-up: --version (median of {STARTUP_RUNS})",
            "s",
            lambda s: s,
            Target("ratio", "<=", 0.5),
        ),
    ]
    result = []
    for key, name, unit, figure, target in steps:
        label = f"{name}, median of {rounds}" if key != "startup" else name
        mine = figure(statistics.median(times["hwcloud"][key]))
        peer = figure(statistics.median(times["aws"][key])) if "aws" in times else None
        note = "seconds: hwcloud " + repeats(times["hwcloud"][key])
        if "aws" in times:
            note += ", aws " + repeats(times["aws"][key])
        row = Row(f"cli_cp.{key}", GROUP, label, "hwcloud", unit, mine, "aws", peer, target=target, note=note)
        result.append(row)
        aws_row = Row(f"cli_cp.{key}.aws", GROUP, label, "aws (awscli)", unit, peer)
        result.append(aws_row if "aws" in times else not_measured(aws_row, awscli_missing))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cli_cp", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="128 MiB and 200 files, one round")
    parser.add_argument("--size-mib", type=int, help="the large file's size (default 1024; quick 128)")
    parser.add_argument("--files", type=int, help="how many small files (default 1,000; quick 200)")
    parser.add_argument("--rounds", type=int, help="rounds (default 3; quick 1)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    size = (args.size_mib or (128 if args.quick else 1024)) * MiB
    files = args.files or (200 if args.quick else 1000)
    rounds = args.rounds or (1 if args.quick else 3)
    exit_on_sigterm()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as workdir:
        results = measure(Path(workdir), size, files, rounds)
    print(
        f"cores: {os.cpu_count()}, large file: {size / MiB:,.0f} MiB, {files:,} small files, {rounds} rounds"
    )
    print(table(results))
    print("targets: issue 19's (throughput at least 1.0x awscli's; start-up at most half of awscli's).")
    if args.json:
        report.write_json(args.json, results, {"size": size, "files": files, "rounds": rounds}, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
