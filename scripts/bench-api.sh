#!/usr/bin/env bash
# The Docker API's cost, side by side in one run (hyperfine):
#   bocker run --rm --network none IMG true                 (the CLI)
#   docker run --rm --network none IMG true                 (Debian's docker CLI through `bocker system service`)
# and the service's resident memory when idle (before and after the runs).
# Prints the medians, the ratio and the RSS.
#   scripts/bench-api.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
. scripts/lib.sh
need_root bench-api.sh
ensure_packages busybox-static hyperfine jq
ensure_docker_clients
build_release -q
bocker=$release_dir/bocker
docker=$CLIENTS_DIR/docker/bin/docker
work=$(mktemp -d /var/tmp/bocker-bench-api.XXXXXX)
export BOCKER_ROOT=$work/root
export BOCKER_BRIDGE=bkbench3 BOCKER_SUBNET=10.215.3.0/24 BOCKER_NET_EGRESS=0
export DOCKER_HOST=unix://$work/api.sock DOCKER_CONFIG=$work/docker-config
svc=
cleanup() {
  set +e
  [ -z "$svc" ] || kill "$svc" 2>/dev/null
  for id in $("$bocker" ps -q 2>/dev/null); do "$bocker" rm -f "$id" >/dev/null 2>&1; done
  "$bocker" network prune >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
bash scripts/mkrootfs.sh "$work/rootfs" >/dev/null
img=$("$bocker" init "$work/rootfs" | sed 's/Created: //')
"$bocker" tag "$img" bench-api:latest >/dev/null
"$bocker" system service --socket "$work/api.sock" 2>"$work/service.log" &
svc=$!
for _ in $(seq 100); do [ -S "$work/api.sock" ] && break; sleep 0.05; done
"$docker" version >/dev/null
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$svc/status"; }
# idle: the service gives back what serving touched after 2 s without requests
sleep 3
idle_before=$(rss)
hyperfine -N -w 3 -r "$runs" --export-json "$work/h.json" \
  -n bocker "$bocker run --rm --network none bench-api:latest true" \
  -n docker-api "$docker run --rm --network none bench-api:latest true" >/dev/null
busy=$(rss)
sleep 3
idle_after=$(rss)
b=$(jq '.results[] | select(.command=="bocker") | .median * 1000' "$work/h.json")
d=$(jq '.results[] | select(.command=="docker-api") | .median * 1000' "$work/h.json")
printf 'run --rm true, median of %s (load %s):\n' "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  bocker run          %7.1f ms\n' "$b"
printf '  docker run (API)    %7.1f ms   %.2fx\n' "$d" "$(awk -v d="$d" -v b="$b" 'BEGIN { print d / b }')"
printf 'service RSS: %s kB idle after start, %s kB right after %s runs of each, %s kB idle again\n' "$idle_before" "$busy" "$runs" "$idle_after"
