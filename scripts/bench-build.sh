#!/usr/bin/env bash
# Side-by-side commit and build benchmark (one run, same machine, same
# busybox rootfs), timed by hyperfine:
#  - commit of an exited container that wrote 100 MB in 1,000 files:
#    bocker commit vs podman commit;
#  - a 5-step Dockerfile (RUN, COPY, ENV, RUN, CMD on a busybox base),
#    without cache: bocker build vs podman build (buildah);
#  - a 10-step Dockerfile rebuilt with nothing changed (every step a cache
#    hit; target < 50 ms), bocker vs podman;
#  - a multi-stage Dockerfile (two independent busybox stages, a third that
#    copies from both), without cache (target: bocker >= 5x faster).
# Prints medians and ratios to bocker.
#   scripts/bench-build.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
. scripts/lib.sh
need_root bench-build.sh
ensure_packages busybox-static hyperfine podman jq
build_release -q
bocker=$release_dir/bocker
work=$(mktemp -d /var/tmp/bocker-bench-build.XXXXXX)
export BOCKER_ROOT=$work/root
# the bridge network of this run only, isolated from the outside
export BOCKER_BRIDGE=bkbench1 BOCKER_SUBNET=10.215.1.0/24 BOCKER_NET_EGRESS=0
ulim="--ulimit nofile=20000:20000 --ulimit nproc=20000:20000"
before=$(podman images -q --no-trunc | sort)
cleanup() {
  set +e
  # podman build leaves its intermediate images: remove those this run made
  comm -13 <(echo "$before") <(podman images -q --no-trunc | sort) | xargs -r podman rmi -f >/dev/null 2>&1 || true
  for id in $($bocker ps -q 2>/dev/null); do $bocker rm -f "$id" >/dev/null 2>&1 || true; done
  $bocker network prune >/dev/null 2>&1
  podman rm -f bench-writer >/dev/null 2>&1 || true
  podman rmi -f bench-commit bench-build bench-cached bench-multi bocker-bench-base >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
bash scripts/mkrootfs.sh "$work/rootfs" >/dev/null
img=$($bocker init "$work/rootfs" | sed 's/Created: //')
$bocker tag "$img" bench-base:latest
tar -C "$work/rootfs" -c . | podman import -q - bocker-bench-base >/dev/null

# 100 MB in 1,000 files of 100 KB (incompressible), written by a container
write='mkdir /data && i=0; while [ $i -lt 1000 ]; do head -c 102400 /dev/urandom > /data/f$i; i=$((i+1)); done'
$bocker run --name bench-writer -m 1g bench-base sh -c "$write"
podman run --name bench-writer --network none $ulim bocker-bench-base sh -c "$write"

hyperfine -N -w 1 -r "$runs" --export-json "$work/commit.json" \
  --prepare "$bocker rmi -f bench-commit:1" \
  -n "bocker commit" "$bocker commit bench-writer bench-commit:1" \
  --prepare "podman rmi -f bench-commit" \
  -n "podman commit" "podman commit -q bench-writer bench-commit" >/dev/null 2>&1 ||
hyperfine -N -w 1 -r "$runs" --export-json "$work/commit.json" \
  --prepare "sh -c '$bocker rmi -f bench-commit:1 >/dev/null 2>&1; podman rmi -f bench-commit >/dev/null 2>&1; true'" \
  -n "bocker commit" "$bocker commit bench-writer bench-commit:1" \
  -n "podman commit" "podman commit -q bench-writer bench-commit" >/dev/null

# the 5-step build, no cache
ctx=$work/ctx
mkdir -p "$ctx/src"
for i in $(seq 1 50); do head -c 4096 /dev/urandom | base64 > "$ctx/src/file$i.txt"; done
cat > "$ctx/Dockerfile" <<'DF'
ARG BASE
FROM $BASE
RUN mkdir -p /app && echo built > /app/stamp
COPY src /app/src
ENV APP_HOME=/app MODE=bench
RUN ls /app/src | wc -l > /app/count
CMD ["cat", "/app/count"]
DF
hyperfine -N -w 1 -r "$runs" --export-json "$work/build.json" \
  -n "bocker build" "$bocker build -q --no-cache --network none --build-arg BASE=bench-base -t bench-build:1 $ctx" \
  -n "podman build" "podman build -q --no-cache --pull=never --network none $ulim --build-arg BASE=localhost/bocker-bench-base -t bench-build $ctx" >/dev/null

# 10 steps, rebuilt with nothing changed: every step from the cache
ctx10=$work/ctx10
mkdir -p "$ctx10/src"
for i in $(seq 1 50); do head -c 4096 /dev/urandom | base64 > "$ctx10/src/file$i.txt"; done
cat > "$ctx10/Dockerfile" <<'DF'
ARG BASE
FROM $BASE
ENV A=1
RUN mkdir -p /app && echo one > /app/one
COPY src /app/src
WORKDIR /app
RUN echo two > two
LABEL bench=rebuild
ENV B=2
RUN ls src | wc -l > count
EXPOSE 8080
CMD ["cat", "count"]
DF
$bocker build -q --build-arg BASE=bench-base -t bench-cached:1 "$ctx10" >/dev/null
podman build -q --pull=never --network none $ulim --build-arg BASE=localhost/bocker-bench-base -t bench-cached "$ctx10" >/dev/null
hyperfine -N -w 2 -r "$runs" --export-json "$work/cached.json" \
  -n "bocker build (10 steps, all cached)" "$bocker build -q --build-arg BASE=bench-base -t bench-cached:1 $ctx10" \
  -n "podman build (10 steps, all cached)" "podman build -q --pull=never --network none $ulim --build-arg BASE=localhost/bocker-bench-base -t bench-cached $ctx10" >/dev/null

# multi-stage, no cache: two independent stages and one that takes from both
ctxm=$work/ctxm
mkdir -p "$ctxm"
cat > "$ctxm/Dockerfile" <<'DF'
ARG BASE
FROM $BASE AS left
RUN mkdir /out && i=0; while [ $i -lt 200 ]; do echo $i >> /out/left; i=$((i+1)); done
FROM $BASE AS right
RUN mkdir /out && sha256sum /bin/busybox > /out/right
FROM $BASE
COPY --from=left /out/left /app/left
COPY --from=right /out/right /app/right
CMD ["cat", "/app/right"]
DF
hyperfine -N -w 1 -r "$runs" --export-json "$work/multi.json" \
  -n "bocker build (multi-stage, no cache)" "$bocker build -q --no-cache --network none --build-arg BASE=bench-base -t bench-multi:1 $ctxm" \
  -n "podman build (multi-stage, no cache)" "podman build -q --no-cache --pull=never --network none $ulim --build-arg BASE=localhost/bocker-bench-base -t bench-multi $ctxm" >/dev/null

echo "commit (100 MB in 1,000 files), a 5-step build, a 10-step cached rebuild and a multi-stage build, median of $runs runs ($(date -u +%F), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
for f in commit build cached multi; do
  jq -r '.results as $r | ($r[0].median) as $b |
    $r[] | "\(.command)\t\(.median*1000 | .*10 | round / 10) ms\tratio to bocker \((.median/$b)*100 | round / 100)"' "$work/$f.json"
done | column -t -s $'\t'
