# Shared by the scripts: sourced, not run.

# need_root NAME: the scripts use namespaces, mounts, cgroups and netfilter.
need_root() {
  [ "$(id -u)" = 0 ] || { echo "$1: run as root" >&2; exit 1; }
}

# ensure_packages PKG...: installs the Debian packages that are missing
# (apt-get update first), quietly.
ensure_packages() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# use_cargo: cargo on PATH (rustup's default place included), or fail.
use_cargo() {
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
  command -v cargo >/dev/null 2>&1 || { echo "needs a Rust toolchain (cargo)" >&2; exit 1; }
}

# build_release [CARGO FLAGS]: the release build that users install
# (scripts/install.sh), the demo runs and the benchmarks measure; sets
# release_dir to the folder holding bocker and bocker-monitor. On a glibc
# host it is linked statically (crt-static: a static-pie binary, ASLR kept),
# which spares every start the dynamic loader's work: bocker help 2.55 ->
# 2.02 ms, run 16.2 -> 14.5 ms here (docs/BENCHMARKS.md). That needs an
# explicit --target (a static proc-macro cannot be built), so its output is
# target/HOST/release; the tests build the usual dynamic binaries.
build_release() {
  use_cargo
  local host
  host=$(rustc -vV | sed -n 's/^host: //p')
  case "$host" in
    *-linux-gnu)
      RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" cargo build --release --locked --target "$host" "$@"
      release_dir=${CARGO_TARGET_DIR:-$PWD/target}/$host/release ;;
    *)
      cargo build --release --locked "$@"
      release_dir=${CARGO_TARGET_DIR:-$PWD/target}/release ;;
  esac
}

# installed_release DIR: copies the release binaries into DIR as
# scripts/install.sh does, drops them from the page cache, and prints
# DIR/bocker, the binary a benchmark runs. How a binary came into the page
# cache changes what each start costs: one just written (by install, cp
# or dpkg) starts with fewer page faults than one read back by exec after
# a reboot or an eviction (bocker --version 187 against 208 faults,
# bocker-monitor 124 against 142: 0.3-0.4 ms of CPU a container start,
# docs/BENCHMARKS.md). Benchmarks measure the second, steady state; a
# BOCKER_BASELINE binary is put in the same state (evict_from_page_cache).
installed_release() {
  install -D -m 0755 "$release_dir/bocker" "$1/bocker"
  install -D -m 0755 "$release_dir/bocker-monitor" "$1/bocker-monitor"
  evict_from_page_cache "$1/bocker" "$1/bocker-monitor"
  echo "$1/bocker"
}

# evict_from_page_cache FILE...: drops the files' cached pages (written
# back first), so their next use reads them as after a reboot.
evict_from_page_cache() {
  python3 - "$@" <<'PY'
import os, sys
for f in sys.argv[1:]:
    fd = os.open(f, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
PY
}

# Where the tests find the Docker clients they drive (tests/docker/).
CLIENTS_DIR=${BOCKER_CLIENTS_DIR:-/opt/bocker-clients}

# ensure_docker_clients: the clients #16 is judged by.
# - the docker CLI of Debian's docker.io package, unpacked from the package
#   into $CLIENTS_DIR/docker (only usr/bin/docker is kept: no dockerd is
#   installed, so none can start);
# - Debian's docker-compose 1.29 (its Recommends, docker.io, left out);
# - docker-py 7 in a venv of its own ($CLIENTS_DIR/venv).
ensure_docker_clients() {
  ensure_packages docker-compose python3-venv
  if [ ! -x "$CLIENTS_DIR/docker/bin/docker" ]; then
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && { apt-get download -qq docker.io 2>/dev/null || { apt-get update -qq && apt-get download -qq docker.io; }; })
    dpkg-deb -x "$tmp"/docker.io_*.deb "$tmp/x"
    mkdir -p "$CLIENTS_DIR/docker/bin"
    install -m 0755 "$tmp/x/usr/bin/docker" "$CLIENTS_DIR/docker/bin/docker.new"
    mv "$CLIENTS_DIR/docker/bin/docker.new" "$CLIENTS_DIR/docker/bin/docker"
    rm -rf "$tmp"
  fi
  if [ ! -x "$CLIENTS_DIR/venv/bin/python" ] || ! "$CLIENTS_DIR/venv/bin/python" -c 'import docker' 2>/dev/null; then
    rm -rf "$CLIENTS_DIR/venv"
    python3 -m venv "$CLIENTS_DIR/venv"
    "$CLIENTS_DIR/venv/bin/pip" install -q --disable-pip-version-check 'docker>=7,<8'
  fi
}
