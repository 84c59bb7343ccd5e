#!/usr/bin/env bash
# Scale benchmark (one run, one machine): what bocker costs as records and
# containers pile up, with the targets of issue #13 marked met / not met.
#   - `bocker help` (startup)
#   - `bocker ps` with 100 / 500 / 1000 containers in the store, `bocker
#     images` with 100 / 500 / 1000 images (the growth with the count)
#   - the memory of the monitor a detached container leaves behind, beside
#     podman's conmon for the same detached container
#   - 100 detached `sleep` containers started, listed and removed: the
#     first ten against the last ten of each step
# Everything lives in its own state root under /var/tmp and uses
# `--network none` (its own bridge name all the same); all of it is removed
# at the end, also on failure.
#   scripts/bench-scale.sh [RUNS]     (hyperfine runs per list measurement)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
. scripts/lib.sh
need_root bench-scale.sh
ensure_packages busybox-static hyperfine podman conmon jq python3
build_release -q
work=$(mktemp -d /var/tmp/bocker-bench-scale.XXXXXX)
bocker=$(installed_release "$work/bin")
export BOCKER_ROOT=$work/root
export BOCKER_BRIDGE=bkscale0 BOCKER_SUBNET=10.217.0.0/24 BOCKER_NET_EGRESS=0
podman_img=bocker-bench-scale-$$
podman_ctr=""
cleanup() {
  set +e
  [ -n "$podman_ctr" ] && podman rm -f -t 0 "$podman_ctr" >/dev/null 2>&1
  podman rmi -f "$podman_img" >/dev/null 2>&1
  ids=$($bocker ps -q 2>/dev/null)
  [ -n "$ids" ] && $bocker rm -f $ids >/dev/null 2>&1
  $bocker network prune >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

bash scripts/mkrootfs.sh "$work/rootfs" >/dev/null
img=$($bocker init "$work/rootfs" | sed 's/Created: //')
results=$work/results.tsv   # what \t figure \t target \t met
: > "$results"
verdict() { # verdict WHAT FIGURE TARGET OK(0/1)
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$([ "$4" = 1 ] && echo met || echo 'NOT met')" >> "$results"
}
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
median_ms() { jq -r '.results[0].median * 1000 | . * 100 | round / 100' "$1"; }
time_cmd() { # time_cmd NAME RUNS CMD...: hyperfine median in ms
  local name=$1 n=$2; shift 2
  hyperfine -N -w 3 -r "$n" --export-json "$work/h.json" -n "$name" "$*" >/dev/null 2>&1
  median_ms "$work/h.json"
}
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

echo "bocker scale benchmark, $(date -u '+%F %H:%M') UTC, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# --- startup
help_ms=$(time_cmd "bocker help" 200 "$bocker help")
version_ms=$(time_cmd "bocker --version" 200 "$bocker --version")
lt "$help_ms" 3 && ok=1 || ok=0
verdict "bocker help (median of 200)" "$help_ms ms (bocker --version: $version_ms ms)" "< 3 ms" $ok

# --- records: ps and images as the store grows
echo
echo "growth with the count (median of $runs runs each)"
printf '%-8s %-14s %-14s %-14s %-14s\n' count "ps" "ps -q" "images" "run by tag"
# images are made through bocker's own API (a config-only image per tag)
cat > "$work/derive.lua" <<'LUA'
local base, from, to = arg[1], tonumber(arg[2]), tonumber(arg[3])
for i = from, to do
  local img, err = bocker.image.derive(base, { tag = "scale:" .. i, changes = { env = { "N=" .. i } } })
  if not img then error(err) end
end
LUA
made=0
for n in 100 500 1000; do
  for i in $(seq $((made + 1)) "$n"); do $bocker create --network none "$img" true >/dev/null; done
  $bocker script "$work/derive.lua" "$img" $((made + 1)) "$n"
  made=$n
  [ "$($bocker ps -q | wc -l)" = "$n" ] || { echo "expected $n containers" >&2; exit 1; }
  ps_ms=$(time_cmd "ps $n" "$runs" "$bocker ps")
  psq_ms=$(time_cmd "ps -q $n" "$runs" "$bocker ps -q")
  images_ms=$(time_cmd "images $n" "$runs" "$bocker images")
  # a start by NAME:TAG among N images (found through the store's tag hints)
  runtag_ms=$(time_cmd "run by tag $n" "$runs" "$bocker run --rm --network none scale:1 /bin/true")
  printf '%-8s %-14s %-14s %-14s %-14s\n' "$n" "$ps_ms ms" "$psq_ms ms" "$images_ms ms" "$runtag_ms ms"
  eval "ps_$n=$ps_ms images_$n=$images_ms"
done
lt "$ps_1000" 50 && ok=1 || ok=0
verdict "bocker ps, 1000 containers" "$ps_1000 ms" "< 50 ms" $ok
lt "$images_500" 30 && ok=1 || ok=0
verdict "bocker images, 500 images" "$images_500 ms" "< 30 ms" $ok
$bocker rm $($bocker ps -q) >/dev/null
$bocker rmi $($bocker images -q | grep -v "^$img\$") >/dev/null

# --- the monitor of a detached container, beside conmon
mem_of() { # mem_of PID: "RSS PSS" in kB
  awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { print r, p }' "/proc/$1/smaps_rollup"
}
echo
id=$($bocker run -d --network none "$img" sleep 600)
# a detached monitor sheds its memory after 1 s with nothing to copy
# (runtime::term::IDLE_AFTER_MS); conmon is measured after as long
sleep 2.5
mon=$(jq -r .monitor_pid "$BOCKER_ROOT/containers/$id/state.json")
read -r mon_rss mon_pss < <(mem_of "$mon")
$bocker rm -f "$id" >/dev/null
tar -C "$work/rootfs" -c . | podman import -q - "$podman_img" >/dev/null
podman_ctr=$(podman run -d --network none --ulimit nofile=20000:20000 --ulimit nproc=20000:20000 "$podman_img" sleep 600)
sleep 2.5
conmon=$(podman inspect -f '{{.State.ConmonPid}}' "$podman_ctr")
read -r con_rss con_pss < <(mem_of "$conmon")
podman rm -f -t 0 "$podman_ctr" >/dev/null; podman_ctr=""
echo "monitor of a detached container: bocker RSS $mon_rss kB, PSS $mon_pss kB; podman's conmon RSS $con_rss kB, PSS $con_pss kB"
[ "$mon_rss" -le 1024 ] && ok=1 || ok=0
verdict "monitor RSS (-d sleep)" "$mon_rss kB (PSS $mon_pss kB; conmon $con_rss / $con_pss kB)" "<= 1024 kB" $ok

# --- 100 detached containers
declare -a start_us rm_us ids
for i in $(seq 0 99); do
  t0=$(now_us); ids[i]=$($bocker run -d --network none "$img" sleep 600); t1=$(now_us)
  start_us[i]=$((t1 - t0))
done
[ "$($bocker ps -q | wc -l)" = 100 ] || { echo "expected 100 running containers" >&2; exit 1; }
ps100_ms=$(time_cmd "ps 100 running" "$runs" "$bocker ps")
mons_kb=0; mons_pss=0
for id in "${ids[@]}"; do
  m=$(jq -r .monitor_pid "$BOCKER_ROOT/containers/$id/state.json")
  read -r r p < <(mem_of "$m"); mons_kb=$((mons_kb + r)); mons_pss=$((mons_pss + p))
done
for i in $(seq 0 99); do
  t0=$(now_us); $bocker rm -f "${ids[i]}" >/dev/null; t1=$(now_us)
  rm_us[i]=$((t1 - t0))
done
mean_ms() { # mean_ms FROM TO VALUES...: mean of values[FROM..TO) in ms
  local from=$1 to=$2; shift 2; local a=("$@") s=0 i
  for ((i = from; i < to; i++)); do s=$((s + a[i])); done
  awk -v s="$s" -v n=$((to - from)) 'BEGIN { printf "%.1f", s / n / 1000 }'
}
s_first=$(mean_ms 0 10 "${start_us[@]}"); s_last=$(mean_ms 90 100 "${start_us[@]}")
r_first=$(mean_ms 0 10 "${rm_us[@]}"); r_last=$(mean_ms 90 100 "${rm_us[@]}")
echo "100 detached sleep containers: run -d first 10 $s_first ms, last 10 $s_last ms; rm -f first 10 $r_first ms, last 10 $r_last ms;"
echo "  ps with 100 running: $ps100_ms ms; their 100 monitors: RSS $((mons_kb / 1024)) MB, PSS $((mons_pss / 1024)) MB in all"
slower() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(b > a * 1.25) }'; } # last > first + 25%
slower "$s_first" "$s_last" && ok=0 || ok=1
verdict "run -d, last 10 of 100 vs first 10" "$s_last vs $s_first ms" "no slower (within 25%)" $ok
slower "$r_first" "$r_last" && ok=0 || ok=1
verdict "rm -f, last 10 of 100 vs first 10" "$r_last vs $r_first ms" "no slower (within 25%)" $ok

echo
echo "targets"
column -t -s $'\t' "$results"
