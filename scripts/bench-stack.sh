#!/usr/bin/env bash
# Side-by-side stack benchmark (one run, same machine, same busybox
# rootfs), timed by hyperfine: `up -d` of a 3-service compose.yaml (web,
# app depending on web, worker depending on app; each a shell that exits on
# TERM), the stack taken down before every run:
#   bocker up -d   vs   podman-compose up -d (Debian's podman-compose, on podman)
# docker-compose against podman's socket is not measured: Debian 12 has no
# docker-compose v2 package, and v1 (python) needs docker's API socket.
# Prints the medians and the ratio.
#   scripts/bench-stack.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
. scripts/lib.sh
need_root bench-stack.sh
ensure_packages busybox-static hyperfine podman podman-compose jq
build_release -q
bocker=$release_dir/bocker
work=$(mktemp -d /var/tmp/bocker-bench-stack.XXXXXX)
export BOCKER_ROOT=$work/root
# the bridge network of this run only, isolated from the outside
export BOCKER_BRIDGE=bkbench2 BOCKER_SUBNET=10.215.2.0/24 BOCKER_NET_EGRESS=0
cleanup() {
  set +e
  (cd "$work/stack" && IMAGE=localhost/bocker-bench-stack podman-compose -p benchpc down -t 1 >/dev/null 2>&1)
  "$bocker" down -v -t 1 -p benchbk -f "$work/stack/compose.yaml" >/dev/null 2>&1
  for id in $("$bocker" ps -q 2>/dev/null); do "$bocker" rm -f "$id" >/dev/null 2>&1; done
  "$bocker" network prune >/dev/null 2>&1
  # podman-compose 1.0.3 leaves the network it made
  podman network rm -f benchpc_default >/dev/null 2>&1
  podman rmi -f bocker-bench-stack >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
bash scripts/mkrootfs.sh "$work/rootfs" >/dev/null
img=$("$bocker" init "$work/rootfs" | sed 's/Created: //')
"$bocker" tag "$img" bench-stack:latest
tar -C "$work/rootfs" -c . | podman import -q - bocker-bench-stack >/dev/null

mkdir -p "$work/stack"
cat > "$work/stack/compose.yaml" <<'YAML'
services:
  web:
    image: ${IMAGE}
    command: sh -c 'trap "exit 0" TERM; while :; do sleep 1; done'
  app:
    image: ${IMAGE}
    command: sh -c 'trap "exit 0" TERM; while :; do sleep 1; done'
    depends_on: [web]
  worker:
    image: ${IMAGE}
    command: sh -c 'trap "exit 0" TERM; while :; do sleep 1; done'
    depends_on: [app]
YAML
f=$work/stack/compose.yaml
bup="env IMAGE=bench-stack:latest $bocker up -d -p benchbk -f $f"
bdown="env IMAGE=bench-stack:latest $bocker down -t 1 -p benchbk -f $f"
# podman's default RLIMIT_NOFILE is refused in this sandbox (as in bench-build.sh)
pup="env IMAGE=localhost/bocker-bench-stack podman-compose '--podman-run-args=--ulimit=nofile=20000:20000 --ulimit=nproc=20000:20000' -p benchpc -f $f up -d"
pdown="env IMAGE=localhost/bocker-bench-stack podman-compose -p benchpc -f $f down -t 1"
# each must bring up 3 running containers before it is timed (podman-compose
# exits 0 when a container fails to start)
eval "$bup" >/dev/null 2>&1
[ "$("$bocker" stack ps -p benchbk | grep -c ' Up ')" = 3 ] || { echo "bocker up did not start 3 services" >&2; exit 1; }
eval "$bdown" >/dev/null 2>&1
eval "$pup" >/dev/null 2>&1
[ "$(podman ps --filter label=com.docker.compose.project=benchpc -q | wc -l)" = 3 ] || { echo "podman-compose up did not start 3 services" >&2; exit 1; }
eval "$pdown" >/dev/null 2>&1
hyperfine -N -w 1 -r "$runs" --export-json "$work/up.json" \
  --prepare "$bdown" -n "bocker up -d" "$bup" \
  --prepare "$pdown" -n "podman-compose up -d" "$pup" >/dev/null 2>&1
load=$(cut -d' ' -f1-3 /proc/loadavg)
jq -r --arg load "$load" '
  .results as $r
  | ($r[] | "\(.command): median \(.median * 1000 | floor) ms (min \(.min * 1000 | floor), max \(.max * 1000 | floor))"),
    "podman-compose / bocker: \(($r[1].median / $r[0].median) * 100 | floor / 100)x (load \($load))"' "$work/up.json"
