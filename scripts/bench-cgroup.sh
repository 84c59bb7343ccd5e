#!/usr/bin/env bash
# What joining a cgroup costs (one run, one machine): a child moved in by
# writing its pid to cgroup.procs (what a cgroup v1 start must do, and v2
# did before clone3), against a child born there (clone3 with
# CLONE_INTO_CGROUP, what bocker does on v2). The write takes the kernel's
# cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period
# unless another move happened within the last one: starts made one at a
# time pay it, a tight loop of starts does not. So each mechanism is timed
# with its starts 0, 20 and 100 ms apart.
# Uses a folder of its own in a cgroup2 hierarchy (the host's v2 or hybrid
# mount, else a private mount of it), removed at the end.
#   scripts/bench-cgroup.sh [STARTS]
set -euo pipefail
cd "$(dirname "$0")/.."
starts=${1:-40}
. scripts/lib.sh
need_root bench-cgroup.sh
ensure_packages gcc libc6-dev
work=$(mktemp -d /var/tmp/bocker-bench-cgroup.XXXXXX)
mnt=""
group=""
cleanup() {
  set +e
  [ -n "$group" ] && rmdir "$group"
  [ -n "$mnt" ] && umount "$mnt"
  rm -rf "$work"
}
trap cleanup EXIT
root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [ -z "$root" ]; then
  mnt=$work/cg2
  mkdir "$mnt" && mount -t cgroup2 none "$mnt"
  root=$mnt
fi
group=$root/bocker-bench-cgroup-$$
mkdir "$group"
cat > "$work/join.c" <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
int main(int argc, char **argv) {
  const char *dir = argv[1]; int gap = atoi(argv[2]), n = atoi(argv[3]);
  char procs[4096]; snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  double *w = calloc(n, sizeof *w), *c = calloc(n, sizeof *c);
  for (int i = 0; i < n; i++) {
    usleep(gap * 1000);
    pid_t p = fork();
    if (p == 0) { pause(); _exit(0); }
    int fd = open(procs, O_WRONLY); char b[32]; int l = snprintf(b, sizeof b, "%d", p);
    double t0 = ms();
    if (write(fd, b, l) != l) { perror("write cgroup.procs"); return 1; }
    w[i] = ms() - t0;
    close(fd); kill(p, SIGKILL); waitpid(p, 0, 0);
    usleep(gap * 1000);
    struct clone_args a; memset(&a, 0, sizeof a);
    a.flags = CLONE_INTO_CGROUP; a.exit_signal = SIGCHLD; a.cgroup = dfd;
    t0 = ms();
    long r = syscall(SYS_clone3, &a, sizeof a);
    if (r == 0) _exit(0);
    c[i] = ms() - t0;
    if (r < 0) { perror("clone3"); return 1; }
    waitpid(r, 0, 0);
  }
  qsort(w, n, sizeof *w, cmp); qsort(c, n, sizeof *c, cmp);
  printf("%4d ms apart   %8.3f ms   %8.3f ms\n", gap, w[n / 2], c[n / 2]);
  return 0;
}
C
cc -O2 -o "$work/join" "$work/join.c"
echo "joining a cgroup, median of $starts starts ($(date -u '+%F %H:%M') UTC, $(uname -r), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
echo "starts          write pid     clone3 into"
for gap in 0 20 100; do "$work/join" "$group" "$gap" "$starts"; done
