#!/usr/bin/env bash
# The OCI runtime-spec checklist (tests/oci_conformance.rs) run against
# runc, crun and bocker-runc, rendered as a table in docs/CONFORMANCE.md.
#   scripts/conformance.sh            # all three runtimes, writes docs/CONFORMANCE.md
#   scripts/conformance.sh FILTER     # only the checks whose test name contains FILTER
#   OUT=/tmp/c.md scripts/conformance.sh
# The results are recorded (BOCKER_CONFORMANCE_RECORD), not asserted: a
# failing runtime shows in the table and the script still succeeds.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need_root conformance.sh
ensure_packages busybox-static runc crun iproute2
use_cargo
out=${OUT:-docs/CONFORMANCE.md}
filter=${1:-}

# crun refuses this hybrid cgroup layout unless hugetlb is on v1 (FACTS.md)
if [ -d /sys/fs/cgroup/unified ] && [ ! -d /sys/fs/cgroup/hugetlb ]; then
  mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb || true
fi

export BOCKER_TEST_DIR=${BOCKER_TEST_DIR:-/var/tmp/bocker-tests}
rec=$(mktemp /var/tmp/bocker-conformance.XXXXXX)
trap 'rm -f "$rec"' EXIT
cmd="BOCKER_CONFORMANCE_RECORD=FILE cargo test --test oci_conformance -- --test-threads=2${filter:+ $filter}"
echo "conformance: $cmd" >&2
BOCKER_CONFORMANCE_RECORD=$rec cargo test -q --test oci_conformance -- --test-threads=2 $filter >&2

# the facts the table was made on
kernel=$(uname -r)
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  cgroups="v2 (unified)"
elif [ -d /sys/fs/cgroup/unified ]; then
  cgroups="v1 hybrid (controllers on v1, a cgroup2 mount at /sys/fs/cgroup/unified)"
else
  cgroups="v1"
fi
runc_v=$(runc --version 2>/dev/null | head -1 || echo "runc: not installed")
crun_v=$(crun --version 2>/dev/null | head -1 || echo "crun: not installed")
bocker_v="bocker $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+changes') ($(git rev-parse --abbrev-ref HEAD 2>/dev/null || echo '?'))"

# the table in the order the checks are written in the test file
order=$(grep -o 'judge("[^"]*"' tests/oci_conformance.rs | sed 's/judge("//; s/"$//')
{
  cat <<EOF
# OCI runtime conformance

The OCI runtime-spec checklist (runtime.md lifecycle and state, config.md
and config-linux.md fields) as checks in \`tests/oci_conformance.rs\`: each
check writes a bundle with one field set, runs it through runc's command
line (\`--root\` in the test's temp dir) and observes the effect from
inside the container (its stdout) or from outside (\`state\`, /proc,
cgroup files). \`bocker-runc\` is the bocker binary called through a
symlink of that name.

Under \`cargo test\` the one assertion is: **a check that passes under
runc must pass under bocker-runc**. This table is the recorded run
(\`BOCKER_CONFORMANCE_RECORD\`), made by \`scripts/conformance.sh\`:

- command: \`$cmd\`
- date: $(date -u '+%F %H:%M UTC')
- host: Linux $kernel, cgroups $cgroups, $(nproc) cores
- runtimes: $runc_v; $crun_v; $bocker_v

A check that fails under runc too is not judged for bocker-runc (the
implication holds); such checks stay in the table because they record
where the references part from the spec or from each other. n/a means the
runtime or the host lacks the feature (the reason is in the details).

EOF
  { printf '%s\n' "$order" | sed 's/^/ORDER\t/'; cat "$rec"; } | awk -F '\t' '
    function cell(r) { return r == "pass" ? "pass" : (r == "fail" ? "**fail**" : (r == "" ? "–" : r)) }
    $1 == "ORDER" { order[++n] = $2; next }
    {
      if (!($1 in title)) { title[$1] = $4 }
      res[$1, $2] = $3
      if ($5 != "") {
        line = "- `" $1 "` " $2 " (" $3 "): " $5
        if (length(line) > 400) line = substr(line, 1, 400) "…"
        notes[$1] = notes[$1] line "\n"
      }
      if ($3 == "pass") pass[$2]++
      total[$2]++
    }
    END {
      print "| check | what | runc | crun | bocker-runc |"
      print "| --- | --- | --- | --- | --- |"
      for (i = 1; i <= n; i++) {
        c = order[i]
        if (!(c in title)) continue
        printf "| `%s` | %s | %s | %s | %s |\n", c, title[c], cell(res[c, "runc"]), cell(res[c, "crun"]), cell(res[c, "bocker-runc"])
      }
      printf "| | **passed** | %d/%d | %d/%d | %d/%d |\n", pass["runc"], total["runc"], pass["crun"], total["crun"], pass["bocker-runc"], total["bocker-runc"]
      print ""
      print "## Details"
      print ""
      print "Why a check failed or is n/a, and what a runtime said or did where the check records it (messages of refused input, the hooks seen)."
      print ""
      for (i = 1; i <= n; i++) printf "%s", notes[order[i]]
    }'
} > "$out"
echo "conformance: wrote $out" >&2
