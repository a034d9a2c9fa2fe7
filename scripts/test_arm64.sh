#!/usr/bin/env bash
# make test-arm64: a smoke subset of the suite on an emulated arm64 (aarch64) Debian bookworm root.
#
# Kunpeng servers are aarch64. This script builds, once and outside the repository, a small bookworm
# arm64 root, installs the workspace into it from the committed uv.lock, and runs there, under
# qemu-user-static through binfmt_misc: the emulator serving and surviving a restart, an OBS round trip and
# a multipart upload through the official SDK, every provider module imported with warnings as errors, an
# example DAG under `airflow dags test`, and a DLI SQL query.
#
# Only what must be aarch64 runs emulated (3-10x slower than native): the root's packages are unpacked by
# mmdebstrap without running their maintainer scripts, and the host's uv installs the lock's aarch64 wheels
# (`--python-platform`) and compiles their bytecode natively. The tests and everything they start run in
# the root. Needs root (chroot, mounts). See docs/arm64.md for what emulation does and does not prove.
#
#   HUAWEICLOUD_ARM64_CACHE  where the root lives (default /var/cache/huaweicloud-arm64); delete to rebuild
#   DEBIAN_MIRROR            the bookworm archive (default http://deb.debian.org/debian)
# shellcheck disable=SC2016 # the sh -c scripts below expand their own arguments
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${HUAWEICLOUD_ARM64_CACHE:-/var/cache/huaweicloud-arm64}
ROOT=$CACHE/root
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# The root's /opt holds all the workspace needs. The host's uv sees it at the same paths (a bind mount in
# a private mount namespace), so the venv's script shebangs and editable paths are right inside the root.
SRC=/opt/huaweicloud   # the copy of the working tree
VENV=/opt/venv         # kept between runs, so the next sync only reinstalls what changed
UV_CACHE=/opt/uv-cache # on the venv's file system, so uv hardlinks from it
# Wheels for glibc 2.36, bookworm's (the root's python3 is bookworm's, like this machine's).
PLATFORM=aarch64-manylinux_2_36

# Unpacked, not configured: python3 and what the tests run besides it (a shell, coreutils, time zones,
# libstdc++ for the C++ wheels such as DuckDB and pyarrow). What their maintainer scripts would have done
# that matters here is done by configure_root.
ROOT_PACKAGES=base-files,base-passwd,bash,coreutils,dash,findutils,grep,gzip,libc-bin,libstdc++6,sed,tar
ROOT_PACKAGES+=,tzdata,python3,python3-venv

# Two lanes, one per core: the DAG test (an Airflow database migration, then `airflow dags test`) takes
# longer than everything else together. Emulated Airflow is slow: on a loaded 2-core machine the DAG
# test has taken over the suite's 300 s per-test timeout, hence -o timeout=900.
EMULATOR_TESTS=(
  emulator/tests/test_core_server.py::test_prints_its_url_and_stops_cleanly_on_sigterm
  emulator/tests/test_core_server.py::test_project_ids_are_stable_across_restarts
  emulator/tests/test_obs_api.py::test_put_get_head_keep_headers_and_metadata
  emulator/tests/test_obs_api.py::test_multipart_out_of_order_with_small_parts
  emulator/tests/test_dli_sql.py::test_result_columns_are_named_and_typed_as_spark_does
)
PROVIDER_TESTS=(
  provider/tests/test_example_dags.py::test_obs_round_trip
  provider/tests/test_registration.py::test_entry_point_gives_the_provider_info
)

# Imports every module of the provider with warnings turned into errors.
IMPORT_CHECK='
import importlib, pkgutil, airflow_huaweicloud as provider
names = [m.name for m in pkgutil.walk_packages(provider.__path__, provider.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print(f"{len(names)} provider modules imported with warnings as errors")'

# Fails naming every file in the venv that is ELF code for another machine than aarch64 (e.g. a C
# extension the host's compiler built from an sdist).
ELF_CHECK='
import os, struct, sys
AARCH64, found, foreign = 183, 0, []
for folder, _, files in os.walk(sys.argv[1]):
    for name in files:
        path = os.path.join(folder, name)
        if os.path.islink(path):
            continue
        with open(path, "rb") as file:
            header = file.read(20)
        if len(header) == 20 and header[:4] == b"\x7fELF":
            found += 1
            machine = struct.unpack("<H" if header[5] == 1 else ">H", header[18:20])[0]
            if machine != AARCH64:
                foreign.append(path)
if foreign:
    sys.exit("not aarch64 code:\n  " + "\n  ".join(foreign))
print(f"{found} ELF files in the venv, all aarch64")'

TIMINGS=()
fail() { echo "test-arm64: $*" >&2; exit 1; }

timed() { # timed "label" command...: runs it and records how long it took
  local label=$1 start=$SECONDS
  shift
  echo "==> $label"
  "$@"
  TIMINGS+=("$(printf '%5ss  %s' $((SECONDS - start)) "$label")")
}

# Runs a command in the root with a clean environment, so none of the host's pip/uv/proxy settings leak in.
in_root() {
  env -i HOME=/root LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin \
    /usr/sbin/chroot "$ROOT" "$@"
}

in_src() { in_root sh -c 'cd "$0" && exec "$@"' "$SRC" "$@"; } # the same, in the copy of the working tree

check_machine() {
  [ "$(id -u)" = 0 ] || fail "needs root (mmdebstrap, chroot and mounts): run it as root"
  local missing=()
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  command -v update-binfmts >/dev/null || missing+=(binfmt-support)
  [ -e /usr/libexec/qemu-binfmt/aarch64-binfmt-P ] || command -v qemu-aarch64-static >/dev/null \
    || missing+=(qemu-user-static)
  if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || fail "missing ${missing[*]} and no apt-get to install them"
    echo "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
      || fail "could not install ${missing[*]} (apt-get install ${missing[*]})"
  fi
  local binfmt=/proc/sys/fs/binfmt_misc
  [ -e $binfmt/register ] || mount -t binfmt_misc binfmt_misc $binfmt 2>/dev/null \
    || fail "binfmt_misc is not mounted and cannot be (a container without privileges?): no arm64 emulation"
  grep -qx enabled $binfmt/qemu-aarch64 2>/dev/null || update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 \
    || fail "qemu-aarch64 is not registered with binfmt_misc (update-binfmts --enable qemu-aarch64 failed)"
  # F (fix binary) opens the interpreter at registration, so it need not exist inside the root.
  grep -q '^flags: .*F' $binfmt/qemu-aarch64 \
    || fail "qemu-aarch64 is registered without the F flag; Debian's qemu-user-static registers it with F"
  command -v python3.11 >/dev/null || fail "no python3.11, the root's (bookworm's) Python, on this machine"
  UV_BIN=$(command -v "${UV:-uv}" || command -v "$REPO/.tools/bin/uv") || fail "no uv on the host: make env"
  UV_BIN=$(readlink -f "$UV_BIN")
  case $UV_BIN in /opt/*) fail "uv is under /opt ($UV_BIN), which sync_workspace hides: move it" ;; esac
}

# Unpacks the packages with the host's dpkg (seconds), where debootstrap or mmdebstrap's other variants
# run every maintainer script under emulation (13 minutes on a loaded machine).
build_root() {
  rm -rf "$ROOT.partial"
  mmdebstrap --mode=root --arch=arm64 --variant=extract --include="$ROOT_PACKAGES" \
    bookworm "$ROOT.partial" "$MIRROR" >"$CACHE/mmdebstrap.log" 2>&1 \
    || fail "mmdebstrap failed; see $CACHE/mmdebstrap.log"
  configure_root "$ROOT.partial"
  mv "$ROOT.partial" "$ROOT"
}

configure_root() { # the part of the maintainer scripts the tests depend on
  local root=$1
  cp "$root/usr/share/base-passwd/passwd.master" "$root/etc/passwd"
  cp "$root/usr/share/base-passwd/group.master" "$root/etc/group"
  cp "$root/usr/share/libc-bin/nsswitch.conf" "$root/etc/nsswitch.conf"
  ln -sf /usr/share/zoneinfo/Etc/UTC "$root/etc/localtime"
  /usr/sbin/chroot "$root" /sbin/ldconfig
  ROOT=$root compile_natively "$root/usr/lib/python3.11" # python3's postinst would compile it, emulated
}

mount_root() {
  mount -t proc proc "$ROOT/proc"
  for fs in dev sys; do
    mount --rbind "/$fs" "$ROOT/$fs" && mount --make-rslave "$ROOT/$fs"
  done
}

unmount_root() {
  for fs in sys dev proc; do
    mountpoint -q "$ROOT/$fs" && umount -R -l "$ROOT/$fs"
  done
  return 0
}

copy_working_tree() { # tracked and new files, without .venv and other ignored files
  rm -rf "${ROOT:?}$SRC" && mkdir -p "$ROOT$SRC"
  (cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
    | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$ROOT$SRC"
  compile_natively "$ROOT$SRC"
}

# Bytecode, compiled by the host's Python of the root's version (the format is the same on every machine)
# with the paths it has in the root, where the first import of each module would compile it emulated.
# Files that are not Python 3 syntax (a few in the standard library's tests) are skipped, as the first
# import would.
compile_natively() { python3.11 -m compileall -q -j 0 -s "$ROOT" -p / "$@" >/dev/null || true; }

# The host's uv, natively, installs the lock's aarch64 wheels into the root's venv, whose python is
# /usr/bin/python3.11 (the host's outside the root, the root's inside: the same version). It builds the
# sdists (esdk-obs-python, crcmod, pyspark) with no C compiler (CC=false), as the root has none: crcmod's
# optional C extension is left out there too; ELF_CHECK then proves no x86 code got in.
sync_workspace() { # uv's summary and what it built from source; not the list of every package installed
  local passthrough=()
  for name in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    [ -n "${!name:-}" ] && passthrough+=("$name=${!name}")
  done
  unshare --mount --propagation private sh -c 'mount --bind "$0/opt" /opt && cd "$1" && shift && exec "$@"' \
    "$ROOT" "$SRC" env -i HOME=/root PATH=/usr/bin:/bin CC=false "${passthrough[@]}" \
    SSL_CERT_FILE="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" UV_NO_CONFIG=1 \
    UV_PYTHON_DOWNLOADS=never UV_PYTHON=/usr/bin/python3.11 UV_PROJECT_ENVIRONMENT=$VENV \
    UV_CACHE_DIR=$UV_CACHE UV_LINK_MODE=hardlink \
    "$UV_BIN" sync --locked --python-platform $PLATFORM --compile-bytecode 2>&1 \
    | { grep -Ev '^ [+-] |Download' || true; }
  python3 -c "$ELF_CHECK" "$ROOT$VENV"
}

# The two lanes of tests run at once, each with its log printed when it ends; fails if either failed.
run_tests() {
  local logs=$CACHE/logs
  mkdir -p "$logs"
  lane "$logs/provider.log" smoke_tests provider "${PROVIDER_TESTS[@]}" &
  local provider=$!
  lane "$logs/emulator.log" imports_then_smoke_tests emulator "${EMULATOR_TESTS[@]}" &
  local emulator=$! failed=0
  wait $emulator || failed=1
  echo "-- lane 1: provider imports, then the ${#EMULATOR_TESTS[@]} emulator tests"
  cat "$logs/emulator.log"
  wait $provider || failed=1
  echo "-- lane 2: the ${#PROVIDER_TESTS[@]} provider tests"
  cat "$logs/provider.log"
  return $failed
}

smoke_tests() { # smoke_tests NAME test...: each lane has a temporary directory of its own
  local name=$1
  shift
  in_src $VENV/bin/python -m pytest -q --durations=0 -o timeout=900 --basetemp="/tmp/test-arm64-$name" "$@"
}

imports_then_smoke_tests() { in_src $VENV/bin/python -W error -c "$IMPORT_CHECK" && smoke_tests "$@"; }

lane() { # lane LOG command...: runs it with its output and how long it took in LOG
  local log=$1 start status=0
  shift
  start=$(date +%s)
  "$@" >"$log" 2>&1 || status=$?
  echo "(this lane: $(($(date +%s) - start)) s)" >>"$log"
  return "$status"
}

main() {
  SECONDS=0
  local load_at_start
  load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
  check_machine
  mkdir -p "$CACHE"
  [ -d "$ROOT" ] || timed "mmdebstrap bookworm arm64 into $ROOT" build_root
  cp /etc/hosts /etc/resolv.conf "$ROOT/etc/" # the machine's name and name servers, as they are today
  unmount_root # what an interrupted run left
  trap unmount_root EXIT
  mount_root

  local host_python root_python
  host_python=$(python3.11 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  root_python=$(in_root python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  [ "$host_python" = "$root_python" ] || fail "the root has Python $root_python, this machine $host_python"
  echo "machine: $(in_root uname -m), $(in_root python3 -c 'import platform; print(platform.platform())')"

  timed "copy the working tree to $SRC" copy_working_tree
  timed "uv sync --locked --python-platform $PLATFORM (natively)" sync_workspace
  local tests=$((${#EMULATOR_TESTS[@]} + ${#PROVIDER_TESTS[@]}))
  timed "provider imports with no warning and pytest smoke subset ($tests tests, 2 lanes)" run_tests

  echo
  echo "test-arm64 passed on $(in_root uname -m) (qemu-user emulation); timings:"
  printf '%s\n' "${TIMINGS[@]}"
  printf '%5ss  total\n' $SECONDS
  echo "load average (1, 5, 15 min): $load_at_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
}

main "$@"
