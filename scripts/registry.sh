#!/bin/sh
# Start/stop a local distribution registry (docker-registry 2.x) for tests.
#   scripts/registry.sh start DIR PORT [--htpasswd USER:PASS]
#   scripts/registry.sh stop DIR
# Listens on 127.0.0.1:PORT only; data lives in DIR/data.
set -eu

usage() { echo "usage: $0 start DIR PORT [--htpasswd USER:PASS] | stop DIR" >&2; exit 2; }

[ $# -ge 2 ] || usage
cmd=$1 dir=$2

case $cmd in
start)
    [ $# -ge 3 ] || usage
    port=$3
    shift 3
    auth=""
    while [ $# -gt 0 ]; do
        case $1 in
        --htpasswd)
            [ $# -ge 2 ] || usage
            user=${2%%:*} pass=${2#*:}
            mkdir -p "$dir"
            htpasswd -Bbc "$dir/htpasswd" "$user" "$pass" >/dev/null 2>&1
            auth="auth:
  htpasswd:
    realm: bocker-test
    path: $dir/htpasswd"
            shift 2 ;;
        *) usage ;;
        esac
    done
    mkdir -p "$dir/data"
    cat > "$dir/config.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$auth
YML
    /usr/bin/docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
    echo $! > "$dir/registry.pid"
    i=0
    while :; do
        # any HTTP answer (200 or 401) means it is up
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" 2>/dev/null || true)
        case $code in 200|401) break ;; esac
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$(cat "$dir/registry.pid")" 2>/dev/null; then
            echo "registry did not start; log:" >&2
            cat "$dir/registry.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    ;;
stop)
    if [ -f "$dir/registry.pid" ]; then
        pid=$(cat "$dir/registry.pid")
        kill "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$dir/registry.pid"
    fi
    ;;
*) usage ;;
esac
