#!/usr/bin/env bash
# make test-arm64: a smoke subset of the suite on an emulated arm64 (aarch64) Debian bookworm root.
#
# Kunpeng servers are aarch64. This script builds, once and outside the repository, a minimal bookworm
# arm64 root (debootstrap, run under qemu-user-static through binfmt_misc), installs the workspace into
# it from the committed uv.lock with uv, and runs there: the emulator serving and surviving a restart,
# an OBS round trip and a multipart upload through the official SDK, every provider module imported with
# warnings as errors, an example DAG under `airflow dags test`, and a DLI SQL query.
# Needs root (chroot, mounts). See docs/arm64.md for what emulation does and does not prove.
#
#   HUAWEICLOUD_ARM64_CACHE  where the root lives (default /var/cache/huaweicloud-arm64); delete to rebuild
#   DEBIAN_MIRROR            the bookworm archive (default http://deb.debian.org/debian)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${HUAWEICLOUD_ARM64_CACHE:-/var/cache/huaweicloud-arm64}
ROOT=$CACHE/root
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SRC=/work/huaweicloud # the copy of the working tree, inside the root
VENV=/opt/venv        # outside the copy, so it survives between runs and the next sync is quick

# Emulated Airflow is slow: its first `airflow dags test` (a database migration, then the run) took over
# the suite's 300 s per-test timeout on a loaded 2-core machine, hence -o timeout=900 below.
SMOKE_TESTS=(
  emulator/tests/test_core_server.py::test_prints_its_url_and_stops_cleanly_on_sigterm
  emulator/tests/test_core_server.py::test_project_ids_are_stable_across_restarts
  emulator/tests/test_obs_api.py::test_put_get_head_keep_headers_and_metadata
  emulator/tests/test_obs_api.py::test_multipart_out_of_order_with_small_parts
  emulator/tests/test_dli_sql.py::test_result_columns_are_named_and_typed_as_spark_does
  provider/tests/test_registration.py::test_entry_point_gives_the_provider_info
  provider/tests/test_example_dags.py::test_obs_round_trip
)

# Imports every module of the provider with warnings turned into errors.
IMPORT_CHECK='
import importlib, pkgutil, airflow_huaweicloud as provider
names = [m.name for m in pkgutil.walk_packages(provider.__path__, provider.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print(f"{len(names)} provider modules imported with warnings as errors")'

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
  env -i HOME=/root LANG=C.UTF-8 PATH=/opt/uv/bin:/usr/local/bin:/usr/bin:/bin \
    SSL_CERT_FILE=/etc/ssl/certs/host-ca-bundle.crt PIP_CERT=/etc/ssl/certs/host-ca-bundle.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 UV_PYTHON_DOWNLOADS=never UV_PYTHON=/usr/bin/python3 \
    UV_PROJECT_ENVIRONMENT=$VENV UV_LINK_MODE=copy UV_CACHE_DIR=/var/cache/uv \
    /usr/sbin/chroot "$ROOT" "$@"
}

in_src() { in_root sh -c 'cd "$0" && exec "$@"' "$SRC" "$@"; } # the same, in the copy of the working tree

check_machine() {
  [ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot and mounts): run it as root"
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
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
}

bootstrap_root() {
  rm -rf "$ROOT.partial"
  debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$ROOT.partial" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
    || fail "debootstrap failed; see $CACHE/debootstrap.log"
  mv "$ROOT.partial" "$ROOT"
}

install_uv() { # the host's uv version, so the lock is read the same way
  local version
  version=$("${UV:-uv}" --version 2>/dev/null || "$REPO/.tools/bin/uv" --version) || fail "no uv on the host: make env"
  version=${version#uv }
  in_root python3 -m venv /opt/uv
  in_root /opt/uv/bin/pip install --quiet "uv==${version%% *}"
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

sync_workspace() { # uv's summary and what it built from source; not the list of every package installed
  in_src uv sync --locked 2>&1 | { grep -Ev '^ \+ |Download' || true; }
}

copy_working_tree() { # tracked and new files, without .venv and other ignored files
  rm -rf "${ROOT:?}$SRC" && mkdir -p "$ROOT$SRC"
  (cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
    | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$ROOT$SRC"
}

main() {
  local total=$SECONDS
  check_machine
  mkdir -p "$CACHE"
  [ -d "$ROOT" ] || timed "debootstrap bookworm arm64 into $ROOT" bootstrap_root
  cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/host-ca-bundle.crt"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  unmount_root # what an interrupted run left
  trap unmount_root EXIT
  mount_root
  [ -x "$ROOT/opt/uv/bin/uv" ] || timed "pip install uv in the root" install_uv

  local host_python root_python
  host_python=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  root_python=$(in_root python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  [ "$host_python" = "$root_python" ] || fail "the root has Python $root_python, this machine $host_python"
  echo "machine: $(in_root uname -m), $(in_root python3 -c 'import platform; print(platform.platform())')"

  timed "copy the working tree to $SRC" copy_working_tree
  timed "uv sync --locked" sync_workspace
  timed "provider imports with no warning" in_src $VENV/bin/python -W error -c "$IMPORT_CHECK"
  timed "pytest smoke subset (${#SMOKE_TESTS[@]} tests)" \
    in_src $VENV/bin/python -m pytest -q --durations=0 -o timeout=900 "${SMOKE_TESTS[@]}"

  echo
  echo "test-arm64 passed on $(in_root uname -m) (qemu-user emulation); timings:"
  printf '%s\n' "${TIMINGS[@]}"
  printf '%5ss  total\n' $((SECONDS - total))
}

main "$@"
