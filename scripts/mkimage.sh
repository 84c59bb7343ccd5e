#!/bin/sh
# Build OCI image layouts for tests with tar + gzip + sha256sum only
# (reproducible digests), and push them with skopeo.
#
#   scripts/mkimage.sh rootfs DIR
#       busybox rootfs: DIR/bin/busybox plus relative applet symlinks
#   scripts/mkimage.sh layout LAYOUT TAG PLATFORM LAYERDIR...
#       one gzip layer per LAYERDIR (bottom first); PLATFORM like
#       linux/amd64 or linux/arm/v7; TAG is recorded in LAYOUT/index.json
#   scripts/mkimage.sh index LAYOUT TAG SUBTAG...
#       TAG becomes an OCI index over the manifests tagged SUBTAG...
#   scripts/mkimage.sh push LAYOUT TAG HOST:PORT/NAME:TAG [--v2s2] [--all]
#   scripts/mkimage.sh whiteouts DIR
#       a second-layer dir that deletes bin/vi, makes etc/ opaque, adds files
set -eu

die() { echo "mkimage: $*" >&2; exit 1; }

blob_put() { # LAYOUT FILE -> prints "hex size"; moves FILE into blobs/
    h=$(sha256sum "$2" | cut -d' ' -f1)
    s=$(stat -c %s "$2")
    mkdir -p "$1/blobs/sha256"
    mv "$2" "$1/blobs/sha256/$h"
    echo "$h $s"
}

write_index() { # LAYOUT: regenerate index.json from LAYOUT/.refs
    l=$1
    printf '{"imageLayoutVersion":"1.0.0"}' > "$l/oci-layout"
    {
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":['
        sep=""
        while read -r tag mt hex size plat; do
            printf '%s{"mediaType":"%s","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}' \
                "$sep" "$mt" "$hex" "$size" "$tag"
            sep=","
        done < "$l/.refs"
        printf ']}'
    } > "$l/index.json"
}

add_ref() { # LAYOUT TAG MEDIATYPE HEX SIZE PLATFORM
    touch "$1/.refs"
    grep -v "^$2 " "$1/.refs" > "$1/.refs.new" || true
    echo "$2 $3 $4 $5 $6" >> "$1/.refs.new"
    mv "$1/.refs.new" "$1/.refs"
    write_index "$1"
}

platform_json() { # os/arch[/variant]
    os=$(echo "$1" | cut -d/ -f1)
    arch=$(echo "$1" | cut -d/ -f2)
    var=$(echo "$1" | cut -d/ -f3)
    if [ -n "$var" ]; then
        printf '"architecture":"%s","os":"%s","variant":"%s"' "$arch" "$os" "$var"
    else
        printf '"architecture":"%s","os":"%s"' "$arch" "$os"
    fi
}

cmd=${1:-}
[ -n "$cmd" ] || die "usage: see the header of $0"
shift

case $cmd in
rootfs)
    d=$1
    mkdir -p "$d/bin" "$d/etc" "$d/tmp" "$d/root" "$d/proc" "$d/sys" "$d/dev"
    cp /bin/busybox "$d/bin/busybox"
    for a in $(/bin/busybox --list); do
        [ "$a" = busybox ] || ln -sf busybox "$d/bin/$a"
    done
    printf "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/sh\n" > "$d/etc/passwd"
    echo "root:x:0:" > "$d/etc/group"
    chmod 1777 "$d/tmp"
    ;;
whiteouts)
    d=$1
    mkdir -p "$d/bin" "$d/etc" "$d/data"
    : > "$d/bin/.wh.vi"
    : > "$d/etc/.wh..wh..opq"
    echo "from layer 2" > "$d/etc/motd"
    echo "hello" > "$d/data/hello.txt"
    ;;
layout)
    [ $# -ge 4 ] || die "layout LAYOUT TAG PLATFORM LAYERDIR..."
    l=$1 tag=$2 plat=$3
    shift 3
    mkdir -p "$l/blobs/sha256"
    layers="" diffs=""
    for dir in "$@"; do
        t="$l/.tmp.tar"
        tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
            --format=posix --pax-option=delete=atime,delete=ctime \
            -C "$dir" -cf "$t" .
        diff=$(sha256sum "$t" | cut -d' ' -f1)
        gzip -n -f "$t"
        set -- $(blob_put "$l" "$t.gz")
        layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$1\",\"size\":$2}"
        diffs="$diffs${diffs:+,}\"sha256:$diff\""
    done
    c="$l/.tmp.config"
    # IMAGE_CONFIG (optional) replaces the image's runtime config object
    cfg=${IMAGE_CONFIG:-'{"Cmd":["/bin/sh"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"WorkingDir":"/","Labels":{"test.platform":"'"$plat"'"}}'}
    printf '{%s,"config":%s,"rootfs":{"type":"layers","diff_ids":[%s]}}' \
        "$(platform_json "$plat")" "$cfg" "$diffs" > "$c"
    set -- $(blob_put "$l" "$c")
    m="$l/.tmp.manifest"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
        "$1" "$2" "$layers" > "$m"
    set -- $(blob_put "$l" "$m")
    add_ref "$l" "$tag" application/vnd.oci.image.manifest.v1+json "$1" "$2" "$plat"
    echo "sha256:$1"
    ;;
index)
    [ $# -ge 3 ] || die "index LAYOUT TAG SUBTAG..."
    l=$1 tag=$2
    shift 2
    ms=""
    for sub in "$@"; do
        line=$(grep "^$sub " "$l/.refs") || die "no tag $sub in $l"
        set -- $line "$@"
        ms="$ms${ms:+,}{\"mediaType\":\"$2\",\"digest\":\"sha256:$3\",\"size\":$4,\"platform\":{$(platform_json "$5")}}"
        shift 5
    done
    i="$l/.tmp.index"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' "$ms" > "$i"
    set -- $(blob_put "$l" "$i")
    add_ref "$l" "$tag" application/vnd.oci.image.index.v1+json "$1" "$2" "index"
    echo "sha256:$1"
    ;;
push)
    [ $# -ge 3 ] || die "push LAYOUT TAG HOST:PORT/NAME:TAG [--v2s2] [--all]"
    l=$1 tag=$2 dest=$3
    shift 3
    extra=""
    for o in "$@"; do
        case $o in
        --v2s2) extra="$extra --format v2s2" ;;
        --all) extra="$extra --all" ;;
        *) die "unknown option $o" ;;
        esac
    done
    # shellcheck disable=SC2086
    skopeo --insecure-policy copy -q $extra --dest-tls-verify=false \
        ${SKOPEO_CREDS:+--dest-creds "$SKOPEO_CREDS"} \
        "oci:$l:$tag" "docker://$dest"
    ;;
*) die "unknown command $cmd" ;;
esac
