"""``hwcloud obs``: every command, its JSON and exit code, against a real emulator process (the CLI's own
main(), in this process, over real HTTP); bad input gives a clear message and the right exit code."""

from __future__ import annotations

import hashlib
import io
import json
import os
import urllib.request
from datetime import datetime
from pathlib import Path

import test_cli_fixtures as shared
from test_cli_fixtures import Cli, unique

from huaweicloud_toolkit import Session
from huaweicloud_toolkit.cli.main import main
from huaweicloud_toolkit.obs import head_object, iter_objects

bucket, cli, session = shared.bucket, shared.cli, shared.session  # the shared fixtures


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def read_object(session: Session, bucket: str, key: str) -> bytes:
    result = session.obs_client().getObject(bucket, key, loadStreamInMemory=True)
    assert result.status == 200, result.errorMessage
    return bytes(result.body.buffer)


def keys(session: Session, bucket: str, prefix: str = "") -> list[str]:
    return sorted(summary.key for summary in iter_objects(session, bucket, prefix))


def tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): path.read_text()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


SITE = {
    "index.html": "<h1>hi</h1>",
    "app.js": "go()",
    "app.js.map": "{}",
    "img/logo.svg": "<svg/>",
    "img/deep/x.tmp": "junk",
}


# Buckets -----------------------------------------------------------------------------------------------


def test_mb_ls_and_rb(cli: Cli) -> None:
    name = unique("mb")
    made = cli("obs", "mb", f"obs://{name}")
    assert (made.code, made.document) == (0, {"bucket": name, "location": "cn-north-4"})
    listed = cli("obs", "ls").document["buckets"]
    [mine] = [b for b in listed if b["name"] == name]
    assert mine["location"] == "cn-north-4" and mine["creation_date"].startswith("20")
    removed = cli("obs", "rb", f"obs://{name}")
    assert (removed.code, removed.document) == (
        0,
        {"bucket": name, "deleted_objects": 0, "aborted_uploads": 0},
    )
    gone = cli("obs", "rb", f"obs://{name}")
    assert gone.code == 4 and "NoSuchBucket" in gone.stderr and gone.stdout == ""


def test_rb_of_a_bucket_with_objects_needs_force(cli: Cli, tmp_path: Path) -> None:
    name = unique("rb")
    cli("obs", "mb", f"obs://{name}")
    make_tree(tmp_path, {"a.txt": "a", "b/c.txt": "c"})
    assert cli("obs", "cp", tmp_path, f"obs://{name}/", "--recursive").code == 0
    refused = cli("obs", "rb", f"obs://{name}")
    assert refused.code == 6 and "BucketNotEmpty" in refused.stderr
    forced = cli("obs", "rb", f"obs://{name}", "--force")
    assert (forced.code, forced.document["deleted_objects"]) == (0, 2)


def test_bucket_commands_refuse_a_key_and_a_bad_url(cli: Cli) -> None:
    with_key = cli("obs", "mb", "obs://some-bucket/a-key")
    assert with_key.code == 2 and "obs mb takes obs://bucket, without a key" in with_key.stderr
    not_a_url = cli("obs", "ls", "s3://bucket/key")
    assert not_a_url.code == 2 and "is not an obs://bucket/key URL" in not_a_url.stderr


# Uploads ------------------------------------------------------------------------------------------------


def test_cp_a_file_to_a_key_and_into_a_folder(
    cli: Cli, session: Session, bucket: str, tmp_path: Path
) -> None:
    report = make_tree(tmp_path, {"report.txt": "all green"}) / "report.txt"
    to_key = cli(
        "obs",
        "cp",
        report,
        f"obs://{bucket}/builds/42/summary.txt",
        "--content-type",
        "text/x-report",
        "--metadata",
        "build=42",
        "--metadata",
        "team=ci",
    )
    assert to_key.code == 0, to_key.stderr
    [sent] = to_key.document["transferred"]
    assert sent == {
        "source": str(report),
        "destination": f"obs://{bucket}/builds/42/summary.txt",
        "size": 9,
        "etag": md5(b"all green"),
    }
    assert to_key.document["bytes"] == 9
    stored = head_object(session, bucket, "builds/42/summary.txt")
    assert stored is not None and stored.etag == sent["etag"]
    assert (stored.content_type, stored.metadata) == ("text/x-report", {"build": "42", "team": "ci"})
    into_folder = cli("obs", "cp", report, f"obs://{bucket}/builds/42/")
    assert into_folder.document["transferred"][0]["destination"] == f"obs://{bucket}/builds/42/report.txt"
    assert read_object(session, bucket, "builds/42/report.txt") == b"all green"


def test_cp_a_folder_with_filters(cli: Cli, session: Session, bucket: str, tmp_path: Path) -> None:
    site = make_tree(tmp_path / "site", SITE)
    whole = cli(
        "obs", "cp", site, f"obs://{bucket}/www", "--recursive", "--exclude", "*.map", "--exclude", "**/deep/"
    )
    assert whole.code == 0, whole.stderr
    assert keys(session, bucket) == ["www/app.js", "www/img/logo.svg", "www/index.html"]
    assert whole.document["bytes"] == sum(len(SITE[k]) for k in ("index.html", "app.js", "img/logo.svg"))
    # Only what the last matching filter takes: everything out, then the SVGs back in.
    svg = cli(
        "obs", "cp", site, f"obs://{bucket}/svg/", "--recursive", "--exclude", "**", "--include", "*.svg"
    )
    assert [t["destination"] for t in svg.document["transferred"]] == [f"obs://{bucket}/svg/img/logo.svg"]


def test_cp_bad_sources_and_targets(cli: Cli, bucket: str, tmp_path: Path) -> None:
    folder = make_tree(tmp_path / "dist", {"a.txt": "a"})
    needs_recursive = cli("obs", "cp", folder, f"obs://{bucket}/dist/")
    assert needs_recursive.code == 2 and "is a folder: add --recursive" in needs_recursive.stderr
    missing = cli("obs", "cp", tmp_path / "no-such-file", f"obs://{bucket}/x")
    assert missing.code == 4 and f"{tmp_path / 'no-such-file'} does not exist" in missing.stderr
    assert missing.stdout == ""
    no_bucket = cli("obs", "cp", folder / "a.txt", f"obs://{unique('no-such-bucket')}/a.txt")
    assert no_bucket.code == 4 and "NoSuchBucket" in no_bucket.stderr
    assert cli("obs", "cp", folder / "a.txt", f"obs://{bucket}/once.txt", "--no-overwrite").code == 0
    again = cli("obs", "cp", folder / "a.txt", f"obs://{bucket}/once.txt", "--no-overwrite")
    assert again.code == 6 and f"obs://{bucket}/once.txt exists already" in again.stderr
    both_local = cli("obs", "cp", folder / "a.txt", tmp_path / "b.txt")
    assert both_local.code == 2 and "one side must be an obs:// URL" in both_local.stderr


def test_a_large_file_goes_in_parts(cli: Cli, session: Session, bucket: str, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(17 * 1024 * 1024))  # above the 16 MiB multipart threshold
    sent = cli("obs", "cp", big, f"obs://{bucket}/big.bin", "--max-concurrency", "4")
    assert sent.code == 0, sent.stderr
    assert sent.document["transferred"][0]["etag"].endswith("-3")  # three 8 MiB parts
    back = tmp_path / "back.bin"
    got = cli("obs", "cp", f"obs://{bucket}/big.bin", back)
    assert got.code == 0 and back.read_bytes() == big.read_bytes()


# Downloads and copies ---------------------------------------------------------------------------------


def test_cp_downloads(cli: Cli, bucket: str, tmp_path: Path) -> None:
    make_tree(tmp_path / "up", {"r/a.txt": "A", "r/s/b.txt": "B", "other.txt": "O"})
    assert cli("obs", "cp", tmp_path / "up", f"obs://{bucket}/", "--recursive").code == 0
    into = tmp_path / "into"
    into.mkdir()
    one = cli("obs", "cp", f"obs://{bucket}/r/a.txt", into)
    assert one.document["transferred"] == [
        {
            "source": f"obs://{bucket}/r/a.txt",
            "destination": str(into / "a.txt"),
            "size": 1,
            "etag": md5(b"A"),
        },
    ]
    assert (into / "a.txt").read_text() == "A"
    renamed = cli("obs", "cp", f"obs://{bucket}/r/a.txt", tmp_path / "renamed.txt")
    assert renamed.code == 0 and (tmp_path / "renamed.txt").read_text() == "A"
    folder = cli("obs", "cp", f"obs://{bucket}/r", tmp_path / "r-copy", "--recursive")
    assert folder.code == 0 and tree(tmp_path / "r-copy") == {"a.txt": "A", "s/b.txt": "B"}
    # The downloaded file carries the object's time, so that sync sees it unchanged.
    listed = cli("obs", "ls", f"obs://{bucket}/r/").document["objects"]
    assert (tmp_path / "r-copy" / "a.txt").stat().st_mtime == datetime.fromisoformat(
        listed[0]["last_modified"]
    ).timestamp()


def test_cp_download_errors(cli: Cli, bucket: str, tmp_path: Path) -> None:
    (tmp_path / "there.txt").write_text("mine")
    assert cli("obs", "cp", tmp_path / "there.txt", f"obs://{bucket}/there.txt").code == 0
    kept = cli("obs", "cp", f"obs://{bucket}/there.txt", tmp_path / "there.txt", "--no-overwrite")
    assert kept.code == 6 and "exists already" in kept.stderr
    missing = cli("obs", "cp", f"obs://{bucket}/no/such/key.txt", tmp_path)
    assert missing.code == 4 and f"obs://{bucket}/no/such/key.txt does not exist" in missing.stderr
    no_bucket = cli("obs", "cp", f"obs://{unique('nob')}/k.txt", tmp_path)
    assert no_bucket.code == 4 and "NoSuchBucket" in no_bucket.stderr


def test_a_key_that_is_no_relative_file_name_is_refused(
    cli: Cli, session: Session, bucket: str, tmp_path: Path
) -> None:
    session.obs_client().putContent(bucket, "evil/a//b.txt", "x")
    target = tmp_path / "target"
    refused = cli("obs", "cp", f"obs://{bucket}/evil/", target, "--recursive")
    assert refused.code == 2 and "'a//b.txt' cannot be written under" in refused.stderr
    assert not target.exists()


def test_cp_between_buckets(cli: Cli, session: Session, bucket: str, tmp_path: Path) -> None:
    other = unique("copy-to")
    cli("obs", "mb", f"obs://{other}")
    try:
        make_tree(tmp_path, {"v1/app.zip": "zip", "v1/notes.txt": "notes"})
        cli("obs", "cp", tmp_path / "v1", f"obs://{bucket}/v1", "--recursive")
        one = cli(
            "obs", "cp", f"obs://{bucket}/v1/app.zip", f"obs://{other}/releases/", "--metadata", "tag=rc"
        )
        assert one.document["transferred"][0]["destination"] == f"obs://{other}/releases/app.zip"
        source, copied = (
            head_object(session, bucket, "v1/app.zip"),
            head_object(session, other, "releases/app.zip"),
        )
        assert source is not None and copied is not None and copied.metadata == {"tag": "rc"}
        assert copied.content_type == source.content_type == "application/zip"  # kept with new metadata
        assert read_object(session, other, "releases/app.zip") == b"zip"
        whole = cli("obs", "cp", f"obs://{bucket}/v1/", f"obs://{other}/mirror", "--recursive")
        assert whole.code == 0 and keys(session, other, "mirror/") == ["mirror/app.zip", "mirror/notes.txt"]
    finally:
        cli("obs", "rb", f"obs://{other}", "--force")


# Sync ---------------------------------------------------------------------------------------------------


def test_sync_up_and_down_sends_only_what_changed(
    cli: Cli, session: Session, bucket: str, tmp_path: Path
) -> None:
    local = make_tree(tmp_path / "local", {"a.txt": "a", "sub/b.txt": "b", "skip.log": "log"})
    target = f"obs://{bucket}/mirror"
    first = cli("obs", "sync", local, target, "--exclude", "*.log")
    assert first.code == 0, first.stderr
    assert (len(first.document["transferred"]), first.document["unchanged"]) == (2, 0)
    again = cli("obs", "sync", local, target, "--exclude", "*.log").document
    assert (again["transferred"], again["unchanged"], again["deleted"]) == ([], 2, [])
    (local / "a.txt").write_text("a, longer now")
    (local / "sub" / "b.txt").unlink()
    changed = cli("obs", "sync", local, target, "--exclude", "*.log", "--delete").document
    assert [t["destination"] for t in changed["transferred"]] == [f"{target}/a.txt"]
    assert changed["deleted"] == [f"{target}/sub/b.txt"]
    assert keys(session, bucket) == ["mirror/a.txt"]

    down = tmp_path / "down"
    make_tree(down, {"stale.txt": "old"})
    pulled = cli("obs", "sync", target, down, "--delete").document
    assert [t["destination"] for t in pulled["transferred"]] == [str(down / "a.txt")]
    assert pulled["deleted"] == [str(down / "stale.txt")]
    assert tree(down) == {"a.txt": "a, longer now"}
    assert cli("obs", "sync", target, down).document["unchanged"] == 1


def test_sync_of_a_missing_source(cli: Cli, bucket: str, tmp_path: Path) -> None:
    missing = cli("obs", "sync", tmp_path / "nothing-here", f"obs://{bucket}/x")
    assert missing.code == 4 and "does not exist" in missing.stderr
    no_bucket = cli("obs", "sync", f"obs://{unique('nob')}/x", tmp_path)
    assert no_bucket.code == 4


# Listing, existence, deletes, presigned URLs ---------------------------------------------------------


def test_ls_one_level_recursive_and_filtered(cli: Cli, bucket: str, tmp_path: Path) -> None:
    make_tree(
        tmp_path, {"logs/a.txt": "1", "logs/2026/b.txt": "22", "logs/2026/c.log": "333", "top.txt": "t"}
    )
    cli("obs", "cp", tmp_path, f"obs://{bucket}/", "--recursive")
    level = cli("obs", "ls", f"obs://{bucket}/logs/").document
    assert (level["bucket"], level["prefix"], level["prefixes"]) == (bucket, "logs/", ["logs/2026/"])
    [entry] = level["objects"]
    assert entry["key"] == "logs/a.txt" and entry["size"] == 1 and entry["storage_class"] == "STANDARD"
    assert entry["etag"] == md5(b"1") and entry["last_modified"].endswith("+00:00")
    deep = cli("obs", "ls", f"obs://{bucket}/logs/", "--recursive", "--exclude", "*.log").document
    assert [o["key"] for o in deep["objects"]] == ["logs/2026/b.txt", "logs/a.txt"] and deep["prefixes"] == []
    assert cli("obs", "ls", f"obs://{bucket}/none/").document["objects"] == []
    missing = cli("obs", "ls", f"obs://{unique('nob')}/")
    assert (missing.code, missing.stdout) == (4, "") and "NoSuchBucket" in missing.stderr


def test_exists(cli: Cli, bucket: str, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("abc")
    cli("obs", "cp", tmp_path / "a.txt", f"obs://{bucket}/a.txt", "--metadata", "k=v")
    there = cli("obs", "exists", f"obs://{bucket}/a.txt").document
    assert {k: there[k] for k in ("exists", "key", "size", "metadata")} == {
        "exists": True,
        "key": "a.txt",
        "size": 3,
        "metadata": {"k": "v"},
    }
    absent = cli("obs", "exists", f"obs://{bucket}/b.txt")
    assert (absent.code, absent.document) == (0, {"exists": False, "bucket": bucket, "key": "b.txt"})
    no_bucket = cli("obs", "exists", f"obs://{unique('nob')}/a.txt")
    assert no_bucket.code == 4 and "The specified bucket does not exist" in no_bucket.stderr


def test_rm_one_key_and_a_folder_in_batches(cli: Cli, session: Session, bucket: str, tmp_path: Path) -> None:
    make_tree(tmp_path, {f"old/{n}.txt": str(n) for n in range(5)} | {"old/keep.cfg": "k", "older/x": "x"})
    cli("obs", "cp", tmp_path, f"obs://{bucket}/", "--recursive")
    one = cli("obs", "rm", f"obs://{bucket}/old/0.txt")
    assert one.document == {"bucket": bucket, "key": "old/0.txt", "deleted": 1, "requests": 1}
    # "old" is taken as the folder old/: older/ stays.
    folder = cli("obs", "rm", f"obs://{bucket}/old", "--recursive", "--exclude", "*.cfg")
    assert folder.document == {"bucket": bucket, "prefix": "old/", "deleted": 4, "requests": 1}
    assert keys(session, bucket) == ["old/keep.cfg", "older/x"]
    needs_key = cli("obs", "rm", f"obs://{bucket}")
    assert needs_key.code == 2 and "--recursive" in needs_key.stderr
    assert cli("obs", "rm", f"obs://{unique('nob')}/k").code == 4


def test_presign_gives_a_url_anyone_can_use(cli: Cli, bucket: str, tmp_path: Path) -> None:
    (tmp_path / "share.txt").write_text("shared")
    cli("obs", "cp", tmp_path / "share.txt", f"obs://{bucket}/share.txt")
    signed = cli("obs", "presign", f"obs://{bucket}/share.txt", "--expires-in", "120").document
    assert (signed["method"], signed["expires_in"]) == ("GET", 120)
    with urllib.request.urlopen(signed["url"], timeout=10) as answer:  # no keys: the URL is the grant
        assert answer.read() == b"shared"
    too_long = cli("obs", "presign", f"obs://{bucket}/share.txt", "--expires-in", str(8 * 24 * 3600))
    assert too_long.code == 2 and "expires_in must be between 1 and 604800 seconds" in too_long.stderr
    bad_method = cli("obs", "presign", f"obs://{bucket}/share.txt", "--method", "PATCH")
    assert bad_method.code == 2 and "invalid choice: 'PATCH'" in bad_method.stderr


def test_many_files_go_in_parallel_and_progress_stays_off_a_log(
    cli: Cli, bucket: str, tmp_path: Path
) -> None:
    make_tree(tmp_path, {f"f{n:02}.txt": "x" * n for n in range(30)})
    done = cli("obs", "cp", tmp_path, f"obs://{bucket}/p/", "--recursive", "--max-concurrency", "8")
    assert done.code == 0 and done.stderr == ""  # stderr is no terminal: no progress line
    assert [t["size"] for t in done.document["transferred"]] == list(range(30))  # in the order planned


class Terminal(io.StringIO):
    """A stderr that says it is a terminal, as a person's shell is."""

    def isatty(self) -> bool:
        return True


def test_progress_goes_to_a_terminal_unless_asked_not_to(cli: Cli, bucket: str, tmp_path: Path) -> None:
    make_tree(tmp_path, {f"f{n}.txt": "x" * 1024 for n in range(3)})
    for flags, shown in (((), True), (("--no-progress",), False)):
        stdout, stderr = io.StringIO(), Terminal()
        code = main(["obs", "cp", str(tmp_path), f"obs://{bucket}/t/", "--recursive", *flags], stdout, stderr)
        assert code == 0 and len(json.loads(stdout.getvalue())["transferred"]) == 3
        assert stderr.getvalue().endswith("\r3/3 files, 0.0/0.0 MiB\n") is shown
        assert (stderr.getvalue() == "") is not shown


def test_copies_up_to_5_gib_run_side_by_side_and_transfers_above_16_mib_in_parts() -> None:
    """A server-side copy is one request up to 5 GiB, so many run at once; an upload or download is sent in
    parts from 16 MiB, and those run one transfer at a time (each sends its parts side by side)."""
    from huaweicloud_toolkit.cli.obs_transfers import Place, Transfer, _one_request
    from huaweicloud_toolkit.obs import DEFAULT_CONFIG

    mib, gib = 1 << 20, 1 << 30
    copy, upload = (Place("a", "k"), Place("b", "k")), (Place(None, "/tmp/f"), Place("b", "k"))
    copies = [_one_request(Transfer(*copy, n), DEFAULT_CONFIG) for n in (20 * mib, 5 * gib, 5 * gib + 1)]
    assert copies == [True, True, False]
    uploads = [_one_request(Transfer(*upload, n), DEFAULT_CONFIG) for n in (mib, 16 * mib, -1)]
    assert uploads == [True, False, False]
