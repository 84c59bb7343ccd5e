#!/usr/bin/env bash
# Side-by-side container start benchmark (one run, same machine, same
# rootfs): bocker run --rm (the whole CLI, Lua included), crun run and
# runc run of a prepared bundle, podman run --rm --network none.
# Two configurations, so each pair does the same work: `runc spec`'s minimal
# one (no seccomp filter, no limits; crun, runc, bocker-runc) beside
# `bocker run --security-opt seccomp=unconfined`, and the one bocker itself
# runs (`bocker bundle`: Docker's seccomp profile and capabilities, its
# device list, masked paths, limits) under crun beside `bocker run`.
# Prints medians and ratios: hyperfine times blocks of runs of each command,
# then interleaved rounds (scripts/interleave.py) time the main starts again.
#   scripts/bench.sh [RUNS]
#   BOCKER_BASELINE=/path/to/older/bocker scripts/bench.sh [RUNS]
#       adds that binary (same store and image) beside this one: a change's cost
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
. scripts/lib.sh
need_root bench.sh
ensure_packages busybox-static hyperfine crun runc podman jq python3
build_release -q
work=$(mktemp -d /var/tmp/bocker-bench.XXXXXX)
bocker=$(installed_release "$work/bin")
# bocker's runc command line: the same binary under the name bocker-runc
ln -s "$bocker" "$work/bocker-runc"
export BOCKER_ROOT=$work/root
# the bridge network of this run only, isolated from the outside
export BOCKER_BRIDGE=bkbench0 BOCKER_SUBNET=10.215.0.0/24 BOCKER_NET_EGRESS=0
podman_br_before=0
ip link show cni-podman0 >/dev/null 2>&1 && podman_br_before=1
cleanup() {
  set +e
  # podman's default network leaves its bridge behind: remove it if we made it
  if [ "$podman_br_before" = 0 ]; then ip link del cni-podman0 >/dev/null 2>&1; fi
  for id in $($bocker ps -q 2>/dev/null); do $bocker rm -f "$id" >/dev/null 2>&1 || true; done
  $bocker network prune >/dev/null 2>&1 || true
  podman rmi -f bocker-bench >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
bash scripts/mkrootfs.sh "$work/bundle/rootfs" >/dev/null
img=$($bocker init "$work/bundle/rootfs" | sed 's/Created: //')
baseline=()
if [ -n "${BOCKER_BASELINE:-}" ]; then
  # in the page cache as this build is (lib.sh installed_release)
  evict_from_page_cache "$BOCKER_BASELINE" "$(dirname "$BOCKER_BASELINE")/bocker-monitor"
  # the same store and image (records are compatible both ways)
  baseline=(-n "baseline" "$BOCKER_BASELINE run --rm --network none $img /bin/true")
fi

# crun refuses this hybrid cgroup layout unless hugetlb is on v1 (FACTS.md)
if [ -d /sys/fs/cgroup/unified ] && [ ! -d /sys/fs/cgroup/hugetlb ]; then
  mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb || true
fi
(cd "$work/bundle" && runc spec && jq '.process.terminal=false | .process.args=["/bin/true"] | .root.readonly=false' config.json > c.json && mv c.json config.json)
# the configuration bocker runs, as any OCI runtime reads it
$bocker bundle -o "$work/bundle-bocker" --network none "$img" /bin/true >/dev/null
tar -C "$work/bundle/rootfs" -c . | podman import -q - bocker-bench >/dev/null
ulim="--ulimit nofile=20000:20000 --ulimit nproc=20000:20000"

hyperfine -N -w 5 -r "$runs" --export-json "$work/h.json" \
  -n bocker "$bocker run --rm --network none $img /bin/true" \
  "${baseline[@]}" \
  -n "bocker (bridge)" "$bocker run --rm $img /bin/true" \
  -n "bocker, seccomp=unconfined" "$bocker run --rm --network none --security-opt seccomp=unconfined $img /bin/true" \
  -n crun "crun run --bundle $work/bundle bench-crun-$$" \
  -n "crun (bocker's config)" "crun run --bundle $work/bundle-bocker bench-crun-b-$$" \
  -n bocker-runc "$work/bocker-runc --root $work/runc-state run --bundle $work/bundle bench-bocker-runc-$$" \
  -n runc "runc run --bundle $work/bundle bench-runc-$$" \
  -n podman "podman run --rm --network none $ulim bocker-bench /bin/true" \
  -n "podman (default network)" "podman run --rm $ulim bocker-bench /bin/true" >/dev/null

# the same starts in interleaved rounds (scripts/interleave.py, no shell):
# each round runs every command once, in rotating order, so a machine whose
# speed drifts during the run (this VM's does, by 30% within minutes) weighs
# on all alike; hyperfine's blocks of 40 runs of one command do not
{
  printf 'crun\t\targv: crun run --bundle %s bench-crun-il-%s\n' "$work/bundle" $$
  printf 'bocker\t\targv: %s run --rm --network none %s /bin/true\n' "$bocker" "$img"
  printf 'bocker, seccomp=unconfined\t\targv: %s run --rm --network none --security-opt seccomp=unconfined %s /bin/true\n' "$bocker" "$img"
  printf "crun (bocker's config)\t\targv: crun run --bundle %s bench-crun-b-il-%s\n" "$work/bundle-bocker" $$
  printf 'bocker-runc\t\targv: %s --root %s run --bundle %s bench-bocker-runc-il-%s\n' "$work/bocker-runc" "$work/runc-state" "$work/bundle" $$
  if [ -n "${BOCKER_BASELINE:-}" ]; then
    printf 'baseline\t\targv: %s run --rm --network none %s /bin/true\n' "$BOCKER_BASELINE" "$img"
  fi
} > "$work/il.spec"
python3 scripts/interleave.py "$runs" "$work/il.json" "$work/il.spec" > "$work/il.txt"

hyperfine -N -w 20 -r 200 --export-json "$work/help.json" -n "bocker help" "$bocker help" >/dev/null

# starts one at a time, 200 ms apart, as a person starts containers: the
# move into the cgroup then waits for an RCU grace period that a tight loop
# of starts never sees (scripts/bench-cgroup.sh); on cgroup v2 bocker's
# init is born in its cgroup and skips it
iso_runs=$(( (runs + 1) / 2 ))
hyperfine -N -w 2 -r "$iso_runs" --prepare "sleep 0.2" --export-json "$work/iso.json" \
  -n "bocker, 200 ms apart" "$bocker run --rm --network none $img /bin/true" \
  -n "crun, 200 ms apart" "crun run --bundle $work/bundle bench-crun-iso-$$" \
  -n "crun (bocker's config), 200 ms apart" "crun run --bundle $work/bundle-bocker bench-crun-b-iso-$$" >/dev/null

echo "container start, /bin/true, median of $runs runs ($(date -u +%F), $(nproc) cores)"
jq -r '.results as $r | ($r[] | select(.command=="bocker") | .median) as $b |
  $r[] | "\(.command)\t\(.median*1000 | .*10 | round / 10) ms\tratio to bocker \((.median/$b)*100 | round / 100)"' "$work/h.json" | column -t -s $'\t'
echo "the same, interleaved rounds: median of $runs (min, max), ratio to crun"
column -t -s $'\t' "$work/il.txt"
echo "starts 200 ms apart, median of $iso_runs runs (cgroup $([ -f /sys/fs/cgroup/cgroup.controllers ] && echo v2 || echo v1))"
jq -r '.results as $r | ($r[] | select(.command=="crun, 200 ms apart") | .median) as $c |
  $r[] | "\(.command)\t\(.median*1000 | .*10 | round / 10) ms\tratio to crun \((.median/$c)*100 | round / 100)"' "$work/iso.json" | column -t -s $'\t'
jq -r '.results[] | "bocker help (startup)\t\(.median*1000 | .*100 | round / 100) ms median of 200"' "$work/help.json" | column -t -s $'\t'
peak=$( /usr/bin/time -f %M $bocker run --rm $img /bin/true 2>&1 >/dev/null | tail -1 )
echo "bocker run peak RSS (CLI): ${peak} KB"

# where a start's time goes: BOCKER_TRACE marks of 20 runs, per phase
for mode in none bridge; do
  rm -f "$work/trace-$mode"
  net=(); [ "$mode" = none ] && net=(--network none)
  for _ in $(seq 20); do BOCKER_TRACE="$work/trace-$mode" $bocker run --rm "${net[@]}" $img /bin/true; done
  echo
  echo "bocker run --rm --network $mode /bin/true, per phase (BOCKER_TRACE):"
  $bocker script scripts/trace-phases.lua "$work/trace-$mode"
done
