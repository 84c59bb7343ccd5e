#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every bocker test.
# Installs what the tests need (apt-get), the Rust toolchain if missing,
# builds, runs unit and integration tests; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "test.sh: the tests use real namespaces, mounts and cgroups: run as root" >&2
  exit 1
fi

pkgs=(busybox-static iptables iproute2 expect procps docker-registry skopeo umoci podman
      apache2-utils ca-certificates curl gcc make pkg-config)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null 2>&1 || { echo "test.sh: needs a Rust toolchain (cargo)" >&2; exit 1; }

# Test state on a real disk folder (overlay upper dirs need xattrs).
export BOCKER_TEST_DIR=${BOCKER_TEST_DIR:-/var/tmp/bocker-tests}
mkdir -p "$BOCKER_TEST_DIR"

cargo build --locked --all-targets
cargo test --locked -- --test-threads="${BOCKER_TEST_THREADS:-4}"
echo "test.sh: all tests passed"
