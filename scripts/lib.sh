# Shared by the scripts: sourced, not run.

# need_root NAME: the scripts use namespaces, mounts, cgroups and netfilter.
need_root() {
  [ "$(id -u)" = 0 ] || { echo "$1: run as root" >&2; exit 1; }
}

# ensure_packages PKG...: installs the Debian packages that are missing
# (apt-get update first), quietly.
ensure_packages() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# use_cargo: cargo on PATH (rustup's default place included), or fail.
use_cargo() {
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
  command -v cargo >/dev/null 2>&1 || { echo "needs a Rust toolchain (cargo)" >&2; exit 1; }
}
