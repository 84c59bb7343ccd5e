#!/usr/bin/env bash
# Makes a minimal root filesystem from Debian's busybox-static:
#   scripts/mkrootfs.sh DIR
set -euo pipefail
dir=${1:?usage: mkrootfs.sh DIR}
bb=/bin/busybox
[ -x "$bb" ] || { echo "mkrootfs: $bb missing (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$dir"/{bin,sbin,etc,proc,sys,dev,tmp,root,usr/bin,usr/sbin,var/www}
cp "$bb" "$dir/bin/busybox"
for app in $("$bb" --list); do
  [ "$app" = busybox ] || ln -sf busybox "$dir/bin/$app"
done
chmod 1777 "$dir/tmp"
cat > "$dir/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
www:x:33:33:www:/var/www:/bin/sh
P
cat > "$dir/etc/group" <<'G'
root:x:0:
www:x:33:
nogroup:x:65534:
G
echo "busybox rootfs" > "$dir/etc/os-release"
