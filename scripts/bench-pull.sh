#!/usr/bin/env bash
# Pull benchmark, side by side in one run, from a local registry (127.0.0.1):
#  1. a ~50 MB one-layer synthetic image (busybox + 25 random 2 MB files),
#     pulled by bocker, skopeo copy + umoci unpack, podman pull; floor:
#     curl BLOB | gunzip;
#  2. a real image: a Debian 12 minbase root (debootstrap, cached under
#     $BENCH_CACHE, default /var/cache/bocker-bench) as one gzip layer and
#     split in 4 layers, pulled by bocker and podman (its own --root);
#     floor: curl BLOB | tar -xz into a temp dir (the 4 layers concurrently).
# Runs are interleaved (scripts/interleave.py): on a loaded machine only
# ratios measured side by side mean something. Prints the ratios
# bocker/(curl+tar) (target <= 1.0), podman/bocker (target >= 1.6) and
# bocker's peak RSS (target < 50 MB).
#   scripts/bench-pull.sh [RUNS [DEBIAN_RUNS]]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
druns=${2:-5}
. scripts/lib.sh
need_root bench-pull.sh
ensure_packages busybox-static time skopeo umoci podman docker-registry jq curl python3 debootstrap
build_release -q
bocker=$release_dir/bocker
cache=${BENCH_CACHE:-/var/cache/bocker-bench}
mkdir -p "$cache"

# The machine's Debian mirror (never a host name written here): the first
# URI of /etc/apt/sources.list or sources.list.d/*.list|*.sources that is
# not the security archive.
apt_mirror() {
  {
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
      awk '{for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; break }}'
    awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}' /etc/apt/sources.list.d/*.sources 2>/dev/null
  } | grep -v -- '-security' | head -1
}

# $cache/debian-bookworm: a Debian 12 minbase root, made once.
debian_root() {
  local d=$cache/debian-bookworm mirror
  [ -d "$d" ] && return 0
  mirror=$(apt_mirror)
  [ -n "$mirror" ] || { echo "no Debian mirror in /etc/apt/sources.list*" >&2; exit 1; }
  rm -rf "$d.tmp"
  echo "debootstrap --variant=minbase bookworm (once, into $d)" >&2
  debootstrap --variant=minbase bookworm "$d.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail "$cache/debootstrap.log" >&2; exit 1; }
  mv "$d.tmp" "$d"
}

# $cache/layout-debian: OCI layout with tags deb1 (one layer) and deb4 (the
# same files in 4 layers: usr/lib, usr/share, var, the rest), made once.
debian_layout() {
  local l=$cache/layout-debian r=$cache/debian-bookworm s
  [ -f "$l/index.json" ] && grep -q deb4 "$l/index.json" && return 0
  rm -rf "$l.tmp" "$cache/split"
  s=$cache/split
  mkdir -p "$s/rest" "$s/lib/usr" "$s/share/usr" "$s/var"
  cp -a "$r/." "$s/rest/"
  mv "$s/rest/usr/lib" "$s/lib/usr/"
  mv "$s/rest/usr/share" "$s/share/usr/"
  mv "$s/rest/var" "$s/var/"
  sh scripts/mkimage.sh layout "$l.tmp" deb1 linux/amd64 "$r" >/dev/null
  sh scripts/mkimage.sh layout "$l.tmp" deb4 linux/amd64 "$s/rest" "$s/lib" "$s/share" "$s/var" >/dev/null
  rm -rf "$s"
  mv "$l.tmp" "$l"
}

debian_root
debian_layout

w=$(mktemp -d /var/tmp/bocker-bench-pull.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
podman_w=(podman --root "$w/proot" --runroot "$w/prun" --storage-driver overlay)
cleanup() {
  bash scripts/registry.sh stop "$w/reg" >/dev/null 2>&1 || true
  "${podman_w[@]}" rmi -af >/dev/null 2>&1 || true
  umount -R "$w/proot/overlay" >/dev/null 2>&1 || true
  rm -rf "$w"
}
trap cleanup EXIT
bash scripts/registry.sh start "$w/reg" "$port" >/dev/null
sh scripts/mkimage.sh rootfs "$w/rootfs" >/dev/null
mkdir -p "$w/rootfs/data"
for i in $(seq 1 25); do head -c 2000000 /dev/urandom > "$w/rootfs/data/f$i"; done
sh scripts/mkimage.sh layout "$w/layout" big linux/amd64 "$w/rootfs" >/dev/null
sh scripts/mkimage.sh push "$w/layout" big "$reg/big:1" >/dev/null
sh scripts/mkimage.sh push "$cache/layout-debian" deb1 "$reg/debian:1" >/dev/null
sh scripts/mkimage.sh push "$cache/layout-debian" deb4 "$reg/debian:4" >/dev/null
layers() { # NAME TAG -> the layer digests, bottom first
  curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$reg/v2/$1/manifests/$2" |
    python3 -c 'import json,sys; print(" ".join(l["digest"] for l in json.load(sys.stdin)["layers"]))'
}
big_layer=$(layers big 1)
deb1_layer=$(layers debian 1)
deb4_layers=$(layers debian 4)
deb1_mb=$(curl -sI "http://$reg/v2/debian/blobs/$deb1_layer" | awk 'tolower($1)=="content-length:" {printf "%.0f", $2/1e6}')
files=$(tar -tzf "$cache/layout-debian/blobs/sha256/${deb1_layer#sha256:}" | wc -l)
floor4=""
for l in $deb4_layers; do
  floor4="$floor4 (mkdir -p $w/x/${l#sha256:}; curl -s http://$reg/v2/debian/blobs/$l | tar -xzf - -C $w/x/${l#sha256:}) &"
done

ratio() { # JSON NAME_A NAME_B -> median(A)/median(B)
  jq -r --arg a "$2" --arg b "$3" '.results as $r | (($r[] | select(.command==$a) | .median) / ($r[] | select(.command==$b) | .median)) * 100 | round / 100' "$1"
}
peak_rss() { # REF -> KB
  rm -rf "$w/broot"
  env BOCKER_ROOT="$w/broot" /usr/bin/time -f %M "$bocker" pull -q "$1" 2>&1 >/dev/null | tail -1
}
table() { column -t -s $'\t' -N "what,median,spread,ratio to the first"; }

echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores ($(date -u +%F))"
podman_prep="${podman_w[*]} rmi -af >/dev/null 2>&1; true"
{
  printf '%s\t%s\t%s\n' "bocker pull" "rm -rf $w/broot" "env BOCKER_ROOT=$w/broot $bocker pull -q $reg/big:1"
  printf '%s\t%s\t%s\n' "skopeo copy + umoci unpack" "rm -rf $w/oci $w/bundle" \
    "skopeo copy -q --src-tls-verify=false docker://$reg/big:1 oci:$w/oci:big && umoci unpack --image $w/oci:big $w/bundle >/dev/null"
  printf '%s\t%s\t%s\n' "podman pull" "$podman_prep" "${podman_w[*]} pull -q --tls-verify=false $reg/big:1"
  printf '%s\t%s\t%s\n' "curl | gunzip (floor)" "" "curl -s http://$reg/v2/big/blobs/$big_layer | gunzip > /dev/null"
} > "$w/big.spec"
echo "pull of a ~50 MB image (few big files), median of $runs interleaved runs"
python3 scripts/interleave.py "$runs" "$w/big.json" "$w/big.spec" | table
echo "bocker pull peak RSS: $(peak_rss "$reg/big:1") KB"
echo

{
  printf '%s\t%s\t%s\n' "bocker pull (1 layer)" "rm -rf $w/broot" "env BOCKER_ROOT=$w/broot $bocker pull -q $reg/debian:1"
  printf '%s\t%s\t%s\n' "curl | tar -xz (1 layer)" "rm -rf $w/x; mkdir $w/x" "curl -s http://$reg/v2/debian/blobs/$deb1_layer | tar -xzf - -C $w/x"
  printf '%s\t%s\t%s\n' "podman pull (1 layer)" "$podman_prep" "${podman_w[*]} pull -q --tls-verify=false $reg/debian:1"
  printf '%s\t%s\t%s\n' "bocker pull (4 layers)" "rm -rf $w/broot" "env BOCKER_ROOT=$w/broot $bocker pull -q $reg/debian:4"
  printf '%s\t%s\t%s\n' "curl | tar -xz (4 layers at once)" "rm -rf $w/x; mkdir $w/x" "$floor4 wait"
  printf '%s\t%s\t%s\n' "podman pull (4 layers)" "$podman_prep" "${podman_w[*]} pull -q --tls-verify=false $reg/debian:4"
} > "$w/deb.spec"
echo "pull of Debian 12 minbase ($files entries, ${deb1_mb} MB gzip), median of $druns interleaved runs"
python3 scripts/interleave.py "$druns" "$w/deb.json" "$w/deb.spec" | table
echo "bocker/(curl|tar -xz): 1 layer $(ratio "$w/deb.json" "bocker pull (1 layer)" "curl | tar -xz (1 layer)"), 4 layers $(ratio "$w/deb.json" "bocker pull (4 layers)" "curl | tar -xz (4 layers at once)") (target <= 1.0)"
echo "podman/bocker: 1 layer $(ratio "$w/deb.json" "podman pull (1 layer)" "bocker pull (1 layer)"), 4 layers $(ratio "$w/deb.json" "podman pull (4 layers)" "bocker pull (4 layers)") (target >= 1.6)"
echo "bocker pull peak RSS: 1 layer $(peak_rss "$reg/debian:1") KB, 4 layers $(peak_rss "$reg/debian:4") KB (target < 50 MB)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
