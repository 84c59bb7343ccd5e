#!/usr/bin/env bash
# Runs a command in a cgroup-v2-only Debian 12 guest under qemu:
#   bash scripts/vm.sh [--mem SIZE] [--cpus N] [--timeout SECS] [--accel auto|kvm|tcg]
#                      [--verbose] -- CMD [ARG...]
#   bash scripts/vm.sh --build      # only make (or refresh) the cached guest files
# The guest boots Debian's own 6.1 kernel straight into shell scripts (no
# systemd) with cgroup2 alone at /sys/fs/cgroup, its root a cached debootstrap
# tree shared read-only over virtio-9p under a tmpfs overlay, a fresh ext4
# disk on /var/tmp and /tmp, and this repository at the same absolute path.
# CMD runs under `sh -c` in the repository (or the current directory if that
# is inside it); its stdout and stderr come back on ours and vm.sh exits with
# its status. No network device. KVM when it can boot a stock kernel, else
# (auto) qemu's emulator; --accel kvm fails fast (exit 2) without it.
# Cache: ${BOCKER_VM_CACHE:-/var/cache/bocker-vm} (console.log there holds the
# last guest's kernel messages).
set -euo pipefail

# Bump when the way the cache is built changes (it is part of the cache key).
VM_VERSION=1
GUEST_PACKAGES=(linux-image-amd64 kmod busybox-static iptables iproute2 procps bsdutils util-linux expect ca-certificates)
# What the initramfs loads, dependencies first, to mount the root.
INITRD_MODULES=(virtio_pci 9pnet_virtio 9p overlay virtio_console virtio_blk ext4)
# Environment handed to the guest command.
PASS_ENV_RE='^(BOCKER_[A-Z0-9_]*|CI|RUST_BACKTRACE|RUST_LOG|RUST_TEST_THREADS|PATH|TERM)$'
P9OPTS=trans=virtio,version=9p2000.L,msize=524288

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${BOCKER_VM_CACHE:-/var/cache/bocker-vm}
mem=2G cpus=2 timeout_s=1500 verbose=0 build_only=0 accel=auto
run_dir='' build_dir='' qemu_pid='' out_pid='' err_pid=''

die() { echo "vm.sh: $*" >&2; exit 2; }
say() { [ "$verbose" = 0 ] || echo "vm.sh: $*" >&2; }

usage() {
  echo "usage: vm.sh [--mem SIZE] [--cpus N] [--timeout SECS] [--accel auto|kvm|tcg] [--verbose] -- CMD [ARG...] | vm.sh --build" >&2
  exit 2
}

parse_args() {
  while [ $# -gt 0 ]; do
    case $1 in
      --mem) mem=${2:?}; shift 2 ;;
      --cpus) cpus=${2:?}; shift 2 ;;
      --timeout) timeout_s=${2:?}; shift 2 ;;
      --accel) accel=${2:?}; shift 2 ;;
      --verbose|-v) verbose=1; shift ;;
      --build) build_only=1; shift ;;
      --) shift; break ;;
      *) usage ;;
    esac
  done
  cmd=("$@")
  [ "$build_only" = 1 ] || [ ${#cmd[@]} -gt 0 ] || usage
  [[ $cpus =~ ^[0-9]+$ && $timeout_s =~ ^[0-9]+$ && $accel =~ ^(auto|kvm|tcg)$ ]] || usage
}

# Every exit path: stop qemu, unmount and remove what this run made.
cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
  fi
  local p
  for p in $out_pid $err_pid; do kill "$p" 2>/dev/null || true; done
  [ -z "$run_dir" ] || rm -rf "$run_dir"
  [ -z "$build_dir" ] || remove_tree "$build_dir"
}

# remove_tree DIR: unmounts anything below DIR (debootstrap mounts proc, sys
# and may bind /dev), then removes it without crossing into other filesystems.
remove_tree() {
  [ -d "$1" ] || return 0
  unmount_below "$1"
  rm -rf --one-file-system "$1"
}

unmount_below() {
  local m
  for m in $(awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}

# kvm_problem: why KVM cannot boot Debian's kernel here (nothing if it can).
kvm_problem() {
  if [ ! -c /dev/kvm ]; then echo "/dev/kvm is missing"
  elif ! ( : <> /dev/kvm ) 2>/dev/null; then echo "/dev/kvm cannot be opened"
  elif [ -d /sys/module/kvm_pvm ]; then echo "/dev/kvm is PVM (kvm_pvm), which boots only PVM-enabled guest kernels"
  fi
}

# choose_accel: --accel kvm fails fast without a usable KVM; auto falls back
# to qemu's emulator (TCG, several times slower) with a one-line note.
choose_accel() {
  local why
  [ "$accel" != tcg ] || return 0
  why=$(kvm_problem)
  if [ -z "$why" ]; then
    # auto: a KVM guest that does not boot is retried once under TCG
    [ "$accel" = auto ] && kvm_fallback=1
    accel=kvm; return 0
  fi
  [ "$accel" = auto ] || die "$why: KVM is not usable here (--accel tcg emulates, slowly)"
  echo "vm.sh: $why; using TCG (emulation, slower)" >&2
  accel=tcg
}

# The host's Debian mirror for bookworm main (deb822 or one-line sources).
host_mirror() {
  local url
  url=$(awk '
    /^URIs:/ { u = $2 } /^Suites:/ { s = $0 }
    /^$/ { if (s ~ /[ \t]bookworm([ \t]|$)/ && u != "") { print u; exit } u = ""; s = "" }
    END { if (s ~ /[ \t]bookworm([ \t]|$)/ && u != "") print u }
  ' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
  [ -n "$url" ] || url=$(awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1)
  [ -n "$url" ] || die "no Debian bookworm mirror found in /etc/apt/sources.list*"
  echo "$url"
}

# The first-stage init in the initramfs: load the modules, mount the shared
# root read-only under a tmpfs overlay, mount the per-run share, hand over.
stage1_init() {
  cat <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /lower /rw /newroot
mount -t proc proc /proc
mount -t devtmpfs dev /dev
for m in $(cat /modules); do insmod "$m" || echo "init: insmod $m failed"; done
fail() { echo "init: $*"; echo o > /proc/sysrq-trigger; sleep 10; }
opts=$(sed -n 's/.*bocker.p9=\([^ ]*\).*/\1/p' /proc/cmdline)
mount -t 9p -o "$opts,ro,cache=loose" root /lower || fail "cannot mount the root"
mount -t tmpfs -o mode=0755 rw /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot || fail "overlay"
mkdir -p /newroot/vmio
mount -t 9p -o "$opts" vmio /newroot/vmio || fail "cannot mount the run share"
exec /bin/sh /newroot/vmio/setup
EOF
}

root_key() {
  { echo "$VM_VERSION"; echo "${GUEST_PACKAGES[*]}"; } | sha256sum | cut -c1-16
}

initrd_key() {
  { echo "${INITRD_MODULES[*]}"; stage1_init; } | sha256sum | cut -c1-16
}
# make_initrd ROOT OUT: busybox, the modules (in load order) and stage1_init.
make_initrd() {
  local root=$1 out=$2 kver ird m
  kver=$(ls "$root/lib/modules")
  ird=$(dirname "$out")/initrd.d
  mkdir -p "$ird/bin" "$ird/lib/modules"
  cp "$root/bin/busybox" "$ird/bin/busybox"
  for m in "${INITRD_MODULES[@]}"; do
    chroot "$root" /sbin/modprobe -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
  done | awk '!seen[$0]++' | while read -r m; do
    cp "$root$m" "$ird/lib/modules/"
    echo "/lib/modules/$(basename "$m")" >> "$ird/modules"
  done
  stage1_init > "$ird/init"
  chmod 755 "$ird/init"
  (cd "$ird" && find . | "$root/bin/busybox" cpio -o -H newc 2>/dev/null) | gzip -1 > "$out.tmp"
  rm -rf "$ird"
  mv "$out.tmp" "$out"
}

# extract_vmlinux BZIMAGE OUT: the uncompressed ELF kernel, which qemu boots
# through its PVH entry: no decompression under emulation (seconds in TCG).
extract_vmlinux() {
  local off
  off=$(LC_ALL=C grep -obUaP -m1 '\xfd7zXZ\x00' "$1" | head -1 | cut -d: -f1)
  [ -n "$off" ] || die "no xz-compressed kernel in $1"
  xz -dc --single-stream < <(tail -c +"$((off + 1))" "$1") > "$2.tmp"
  mv "$2.tmp" "$2"
}

# Builds the cache for KEY into a temporary directory, renamed into place.
build_cache() {
  local key=$1 mirror inc t0
  t0=$(date +%s)
  mirror=$(host_mirror)
  build_dir=$(mktemp -d "$cache/.build-XXXXXX")
  inc=$(IFS=,; echo "${GUEST_PACKAGES[*]}")
  echo "vm.sh: building the guest (debootstrap bookworm, $mirror) into $cache/$key ..." >&2
  debootstrap --variant=minbase --include="$inc" bookworm "$build_dir/root" "$mirror" \
    > "$build_dir/debootstrap.log" 2>&1 || { tail -20 "$build_dir/debootstrap.log" >&2; die "debootstrap failed"; }
  unmount_below "$build_dir/root"
  configure_root "$build_dir/root"
  rm -f "$build_dir/root"/boot/initrd.img-*
  mv "$build_dir/debootstrap.log" "$build_dir/build.log"
  mv "$build_dir" "$cache/$key"
  build_dir=''
  echo "vm.sh: guest built in $(( $(date +%s) - t0 )) s ($(du -sh --one-file-system "$cache/$key" | cut -f1))" >&2
}

# Small settings of the guest root; everything else is Debian's default.
configure_root() {
  local root=$1
  echo bocker-vm > "$root/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 bocker-vm\n::1 localhost\n' > "$root/etc/hosts"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*_Packages
}

# Makes the cache if missing (under a lock; other keys are removed); prints its dir.
# ensure_cache: makes what is missing, then holds a shared lock on the cache
# for this run (fd 8): a rebuild (exclusive) removes old guests only when no
# run is using them.
ensure_cache() {
  local rkey ikey old
  rkey=$(root_key) ikey=$(initrd_key)
  vm_dir=$cache/$rkey initrd=$cache/$rkey/initrd-$ikey.img
  mkdir -p "$cache"
  exec 8>"$cache/.lock"
  flock -s 8
  [ -d "$vm_dir" ] && [ -f "$initrd" ] && [ -f "$vm_dir/vmlinux" ] && return 0
  flock -u 8
  flock -x 8
  if [ ! -d "$vm_dir" ]; then
    for old in "$cache"/.build-*; do remove_tree "$old"; done
    build_cache "$rkey"
    for old in "$cache"/*/; do
      [ "${old%/}" = "$vm_dir" ] || remove_tree "${old%/}"
    done
  fi
  [ -f "$vm_dir/vmlinux" ] || extract_vmlinux "$vm_dir"/root/boot/vmlinuz-* "$vm_dir/vmlinux"
  if [ ! -f "$initrd" ]; then
    rm -f "$vm_dir"/initrd-*.img
    make_initrd "$vm_dir/root" "$initrd"
  fi
  flock -s 8
}
# sh_quote WORD: WORD in single quotes, safe for sh -c.
sh_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# The per-run setup, run by the initramfs' busybox (fast: no 9p reads):
# mounts under /newroot, then switch_root to run_script.
setup_script() {
  cat <<'EOF'
#!/bin/busybox sh
n=/newroot
mount --move /dev $n/dev
mount --move /proc $n/proc
mount -t sysfs sys $n/sys
mount -t cgroup2 cgroup2 $n/sys/fs/cgroup
mkdir -p $n/dev/pts $n/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts $n/dev/pts
ln -sf pts/ptmx $n/dev/ptmx
mount -t tmpfs -o mode=1777 shm $n/dev/shm
# /var/tmp, /tmp and bocker's default root (/var/bocker) on a fresh ext4 disk: overlay
# upper dirs and user.* xattrs (tmpfs has no user xattrs before Linux 6.6)
mount -t ext4 $n/dev/vda $n/var/tmp || mount -t tmpfs tmp $n/var/tmp
chmod 1777 $n/var/tmp
mkdir -p -m 1777 $n/var/tmp/.tmp && mount --bind $n/var/tmp/.tmp $n/tmp
mkdir -p -m 0711 $n/var/tmp/.bocker $n/var/bocker && mount --bind $n/var/tmp/.bocker $n/var/bocker
mount -t tmpfs -o mode=0755 run $n/run
ln -sf /proc/self/fd $n/dev/fd; ln -sf /proc/self/fd/0 $n/dev/stdin
ln -sf /proc/self/fd/1 $n/dev/stdout; ln -sf /proc/self/fd/2 $n/dev/stderr
hostname bocker-vm
ip link set lo up
. $n/vmio/mounts
exec switch_root $n /bin/busybox sh /vmio/run
EOF
}

# PID 1 in the guest root (static busybox): run the command, report its
# status, power off.
run_script() {
  cat <<'EOF'
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
off() { sync; echo o > /proc/sysrq-trigger; sleep 30; }
out=/dev/null err=/dev/null
for p in /sys/class/virtio-ports/*; do
  read -r name < "$p/name"
  case $name in
    out) out=/dev/${p##*/} ;;
    err) err=/dev/${p##*/} ;;
  esac
done
. /vmio/env
cd "$VM_CWD" || off
: > /vmio/started
/bin/sh -c "$(cat /vmio/cmd)" < /dev/null > "$out" 2> "$err"
echo $? > /vmio/status
off
EOF
}

# write_run_files: the guest's init, environment, command and shares.
write_run_files() {
  local name cwd tdir
  setup_script > "$run_dir/setup"
  run_script > "$run_dir/run"
  : > "$run_dir/env"
  while IFS= read -r name; do
    [[ $name =~ $PASS_ENV_RE ]] && echo "export $name=$(sh_quote "${!name}")" >> "$run_dir/env"
  done < <(compgen -e)
  cwd=$repo
  case $start_pwd/ in "$repo"/*) cwd=$start_pwd ;; esac
  echo "VM_CWD=$(sh_quote "$cwd")" >> "$run_dir/env"
  {
    echo "mkdir -p $(sh_quote "/newroot$repo") && mount -t 9p -o $P9OPTS,cache=mmap repo $(sh_quote "/newroot$repo")"
    tdir=${CARGO_TARGET_DIR:-}
    if [ -n "$tdir" ]; then
      tdir=$(cd "$start_pwd" && cd "$tdir" && pwd)
      case $tdir/ in "$repo"/*) ;; *)
        echo "mkdir -p $(sh_quote "/newroot$tdir") && mount -t 9p -o $P9OPTS,cache=mmap target $(sh_quote "/newroot$tdir")"
        case $start_pwd/ in "$tdir"/*) echo "VM_CWD=$(sh_quote "$start_pwd")" >> "$run_dir/env" ;; esac
      ;; esac
    fi
  } > "$run_dir/mounts"
  local w line=''
  for w in "${cmd[@]}"; do line+="$(sh_quote "$w") "; done
  printf '%s\n' "$line" > "$run_dir/cmd"
  target_share=$tdir
}

# Kernel messages go to console.log in the cache: warnings and worse (a
# lockup's trace), all of them with --verbose. A soft lockup panics the
# guest, which ends qemu (-no-reboot): a locked emulated guest fails in
# seconds, not at --timeout.
kernel_cmdline() {
  local quiet="quiet loglevel=5"
  [ "$verbose" = 0 ] || quiet="loglevel=7"
  echo "console=ttyS0 $quiet panic=-1 softlockup_panic=1 softlockup_all_cpu_backtrace=1 cgroup_no_v1=all i8042.noaux i8042.nokbd bocker.p9=$P9OPTS"
}

# Copies the guest's stdout and stderr (fifos qemu writes) to ours: cat
# writes through our own file descriptions, so a caller's file offsets stay right.
start_copiers() {
  mkfifo "$run_dir/out" "$run_dir/err"
  cat "$run_dir/out" & out_pid=$!
  cat "$run_dir/err" >&2 & err_pid=$!
}

# make_scratch: the guest's /var/tmp and /tmp, a sparse ext4 image made
# here (fast) and gone with the run directory.
make_scratch() {
  truncate -s 8G "$run_dir/scratch.img"
  mkfs.ext4 -q -F -m 0 -O ^has_journal -E lazy_itable_init=0 "$run_dir/scratch.img"
}

# Starts qemu in the background (killed after --timeout seconds).
start_qemu() {
  local shares=(
    -fsdev "local,id=root,path=$vm_dir/root,security_model=passthrough,readonly=on" -device virtio-9p-pci,fsdev=root,mount_tag=root
    -fsdev "local,id=vmio,path=$run_dir,security_model=passthrough" -device virtio-9p-pci,fsdev=vmio,mount_tag=vmio
    -fsdev "local,id=repo,path=$repo,security_model=passthrough" -device virtio-9p-pci,fsdev=repo,mount_tag=repo
  )
  [ -z "$target_share" ] || shares+=(-fsdev "local,id=target,path=$target_share,security_model=passthrough" -device virtio-9p-pci,fsdev=target,mount_tag=target)
  # -arch-capabilities: nested KVM may refuse that MSR (qemu aborts).
  local acc=(-accel kvm -cpu host,-arch-capabilities) bios=()
  [ "$accel" = kvm ] || acc=(-accel tcg,thread=multi -cpu max)
  # qboot starts a kernel faster than SeaBIOS does.
  [ ! -f /usr/share/qemu/qboot.rom ] || bios=(-bios /usr/share/qemu/qboot.rom)
  qemu-system-x86_64 "${acc[@]}" -m "$mem" -smp "$cpus" -M pc "${bios[@]}" \
    -nographic -monitor none -no-reboot -nic none -nodefaults \
    -serial "file:$cache/console.log" \
    -kernel "$vm_dir/vmlinux" -initrd "$initrd" \
    -append "$(kernel_cmdline)" \
    "${shares[@]}" \
    -drive "file=$run_dir/scratch.img,format=raw,if=virtio,cache=unsafe" \
    -device virtio-serial-pci \
    -chardev "file,id=out,path=$run_dir/out" -device virtserialport,chardev=out,name=out \
    -chardev "file,id=err,path=$run_dir/err" -device virtserialport,chardev=err,name=err \
    < /dev/null &
  qemu_pid=$!
}

# watch_qemu T0: waits for qemu to end; kills it if the command has not
# started within the boot limit, or when --timeout seconds have passed.
watch_qemu() {
  local t0=$1 boot_limit=60 now
  [ "$accel" = kvm ] || boot_limit=300
  while kill -0 "$qemu_pid" 2>/dev/null; do
    sleep 0.2
    now=$(date +%s.%N)
    if awk -v a="$t0" -v b="$now" -v l="$timeout_s" 'BEGIN { exit !(b - a > l) }'; then
      echo "vm.sh: timed out after ${timeout_s}s; qemu killed (console: $cache/console.log)" >&2; exit 124
    fi
    if [ ! -e "$run_dir/started" ] && awk -v a="$t0" -v b="$now" -v l="$boot_limit" 'BEGIN { exit !(b - a > l) }'; then
      if [ "${kvm_fallback:-0}" = 1 ]; then
        kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true
        echo "vm.sh: the KVM guest did not boot within ${boot_limit}s; retrying under TCG (emulation, slower)" >&2
        return 200
      fi
      echo "vm.sh: the guest did not boot within ${boot_limit}s; qemu killed (console: $cache/console.log)" >&2; exit 124
    fi
  done
}

main() {
  parse_args "$@"
  start_pwd=$PWD
  cd "$repo"
  . "$here/lib.sh"
  need_root vm.sh
  choose_accel
  ensure_packages qemu-system-x86 debootstrap xz-utils e2fsprogs
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  ensure_cache
  [ "$build_only" = 0 ] || { echo "vm.sh: guest files in $vm_dir" >&2; exit 0; }
  local t0 rc=0 watched
  while :; do
    run_dir=$(mktemp -d /tmp/bocker-vm.XXXXXX)
    write_run_files
    t0=$(date +%s.%N)
    make_scratch
    start_copiers
    start_qemu
    watched=0
    watch_qemu "$t0" || watched=$?
    [ "$watched" = 200 ] || break
    # the KVM attempt never started the command: clean up, go again on TCG
    local p
    for p in $out_pid $err_pid; do kill "$p" 2>/dev/null || true; done
    wait $out_pid $err_pid 2>/dev/null || true
    rm -rf "$run_dir"
    qemu_pid='' out_pid='' err_pid='' run_dir='' accel=tcg kvm_fallback=0
  done
  wait "$qemu_pid" || rc=$?
  qemu_pid=''
  wait "$out_pid" "$err_pid" || true
  out_pid='' err_pid=''
  [ -f "$run_dir/started" ] && say "boot to command: $(awk -v a="$t0" -v b="$(stat -c %.9Y "$run_dir/started")" 'BEGIN { printf "%.2f s", b - a }')"
  [ -s "$run_dir/status" ] || { echo "vm.sh: the guest stopped without a status (qemu exit $rc; console: $cache/console.log)" >&2; exit 125; }
  say "total: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f s", b - a }')"
  exit "$(cat "$run_dir/status")"
}

main "$@"
