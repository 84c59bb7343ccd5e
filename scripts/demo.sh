#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what bocker needs,
# build it, make an image from a local busybox root filesystem and run
# containers from it -- the seed's example usage, end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need_root demo.sh
ensure_packages busybox-static iptables iproute2 gcc make
use_cargo
build_release
bocker=$release_dir/bocker
ln -sfn bocker "$release_dir/bocker-runc"   # the OCI runtime name (see README: bocker-runc)
export BOCKER_ROOT=${BOCKER_ROOT:-/var/bocker}
work=$(mktemp -d)
# leave the machine as it was: the demo's container, image and bridge go
trap 'set +e; $bocker rm -f demo-$$ >/dev/null 2>&1; $bocker rmi -f "${img:-none}" >/dev/null 2>&1; $bocker network prune >/dev/null 2>&1; rm -rf "$work"' EXIT
bash scripts/mkrootfs.sh "$work/rootfs" >/dev/null
set -x
$bocker init "$work/rootfs"
$bocker images
img=$($bocker images -q | tail -n 1)
$bocker run --name demo-$$ "$img" sh -c 'echo "hello from $(hostname) at $(ip -4 -o addr show eth0 | awk "{print \$4}")"; grep -E "memory|cpu:" /proc/1/cgroup'
$bocker ps
$bocker logs demo-$$
$bocker rm demo-$$
