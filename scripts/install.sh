#!/usr/bin/env bash
# Builds bocker and installs it with its OCI runtime name beside it:
#   scripts/install.sh [PREFIX]      (default /usr/local: PREFIX/bin/bocker, bocker-monitor, bocker-runc)
# bocker-runc is a symlink to bocker: the binary speaks runc's command
# line when called by that name (podman --runtime, ctr --runc-binary).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need_root install.sh
use_cargo
prefix=${1:-/usr/local}
build_release
install -D -m 0755 "$release_dir/bocker" "$prefix/bin/bocker"
# the monitor each container keeps (a small binary of the same build)
install -D -m 0755 "$release_dir/bocker-monitor" "$prefix/bin/bocker-monitor"
ln -sfn bocker "$prefix/bin/bocker-runc"
echo "installed $prefix/bin/bocker, $prefix/bin/bocker-monitor and $prefix/bin/bocker-runc -> bocker"
