#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every bocker test.
# Installs what the tests need (apt-get), starts nothing by hand (each test
# starts its own registry, containerd or podman state and cleans up), builds, runs unit and integration tests; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need_root test.sh
ensure_packages busybox-static xz-utils bzip2 zstd iptables iproute2 expect procps docker-registry skopeo umoci podman runc containerd bsdutils apache2-utils ca-certificates curl gcc libc6-dev make pkg-config debootstrap

ensure_docker_clients
export BOCKER_CLIENTS_DIR="$CLIENTS_DIR"

use_cargo

# Test state on a real disk folder (overlay upper dirs need xattrs).
export BOCKER_TEST_DIR=${BOCKER_TEST_DIR:-/var/tmp/bocker-tests}
mkdir -p "$BOCKER_TEST_DIR"

cargo build --locked --all-targets
cargo test --locked --no-fail-fast -- --test-threads="${BOCKER_TEST_THREADS:-4}"
echo "test.sh: host suite passed"

# The same binaries again in a cgroup-v2-only guest (this host may be v1).
# BOCKER_TEST_VM=0 skips it.
if [ "${BOCKER_TEST_VM:-1}" != 0 ]; then
  echo "test.sh: cgroup v2 guest"
  bash scripts/test-vm.sh
fi
echo "test.sh: all tests passed"
