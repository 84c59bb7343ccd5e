#!/usr/bin/env bash
# Pull benchmark, side by side in one run: a ~50 MB one-layer image on a
# local registry (127.0.0.1), pulled by bocker, by skopeo copy + umoci
# unpack, and by podman pull; plus the floor (download + gunzip of the same
# bytes with curl) and bocker's peak memory.   scripts/bench-pull.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
. scripts/lib.sh
need_root bench-pull.sh
ensure_packages busybox-static hyperfine skopeo umoci podman docker-registry jq curl python3
cargo build --release --locked -q
bocker=$PWD/target/release/bocker
w=$(mktemp -d /var/tmp/bocker-bench-pull.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { bash scripts/registry.sh stop "$w/reg" >/dev/null 2>&1 || true; podman rmi -f "127.0.0.1:$port/big:1" >/dev/null 2>&1 || true; rm -rf "$w"; }
trap cleanup EXIT
bash scripts/registry.sh start "$w/reg" "$port" >/dev/null
sh scripts/mkimage.sh rootfs "$w/rootfs" >/dev/null
mkdir -p "$w/rootfs/data"
for i in $(seq 1 25); do head -c 2000000 /dev/urandom > "$w/rootfs/data/f$i"; done
sh scripts/mkimage.sh layout "$w/layout" big linux/amd64 "$w/rootfs" >/dev/null
sh scripts/mkimage.sh push "$w/layout" big "127.0.0.1:$port/big:1" >/dev/null
ref=127.0.0.1:$port/big:1
layer=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$port/v2/big/manifests/1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])')
hyperfine -N -r "$runs" --export-json "$w/h.json" \
  --prepare "rm -rf $w/broot" -n "bocker pull" "env BOCKER_ROOT=$w/broot $bocker pull -q $ref" \
  --prepare "rm -rf $w/oci $w/bundle" -n "skopeo copy + umoci unpack" \
     "sh -c 'skopeo copy -q --src-tls-verify=false docker://$ref oci:$w/oci:big && umoci unpack --image $w/oci:big $w/bundle >/dev/null'" \
  --prepare "sh -c 'podman rmi -f $ref >/dev/null 2>&1 || true'" -n "podman pull" "podman pull -q --tls-verify=false $ref" \
  --prepare "true" -n "curl | gunzip (floor)" "sh -c 'curl -s http://127.0.0.1:$port/v2/big/blobs/$layer | gunzip > /dev/null'" >/dev/null
echo "pull of a ~50 MB image from 127.0.0.1, median of $runs runs ($(date -u +%F))"
jq -r '.results as $r | ($r[] | select(.command=="bocker pull") | .median) as $b |
  $r[] | "\(.command)\t\(.median*1000 | round) ms\tratio to bocker \((.median/$b)*100 | round / 100)"' "$w/h.json" | column -t -s $'\t'
rm -rf "$w/broot"
peak=$(env BOCKER_ROOT=$w/broot /usr/bin/time -f %M "$bocker" pull -q "$ref" 2>&1 >/dev/null | tail -1)
echo "bocker pull peak RSS: ${peak} KB"
