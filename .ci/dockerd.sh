#!/usr/bin/env bash
# A private Docker engine for the tests: everything under one folder, its own socket, stopped by its pid.
#
#   eval "$(bash .ci/dockerd.sh start [DIR])"   # prints: export DOCKER_HOST=unix://DIR/docker.sock
#   bash .ci/dockerd.sh stop [DIR]
#
# DIR defaults to $LIMR_DOCKERD_DIR or /tmp/limr-dockerd. Installs docker.io, debootstrap and docker-registry
# (the tests push to a registry on loopback) with apt-get when missing (needs root). Containers get no bridge
# network (--bridge=none); builds that need the host's loopback use the host network. Storage: overlay2, or vfs
# where overlay mounts are refused ($LIMR_DOCKERD_STORAGE_DRIVER forces one).
set -euo pipefail

action=${1:-}
dir=${2:-${LIMR_DOCKERD_DIR:-/tmp/limr-dockerd}}
sock="$dir/docker.sock"
pidfile="$dir/docker.pid"

log() { echo "dockerd.sh: $*" >&2; }

install_missing() {
    local packages=()
    command -v dockerd >/dev/null 2>&1 || packages+=(docker.io)
    command -v debootstrap >/dev/null 2>&1 || packages+=(debootstrap)
    command -v docker-registry >/dev/null 2>&1 || packages+=(docker-registry)
    if [ ${#packages[@]} -gt 0 ]; then
        log "installing ${packages[*]}"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >&2
    fi
}

answering() {
    DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1 \
        || python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n"); sys.exit(0 if b"OK" in s.recv(512) else 1)' "$sock" 2>/dev/null
}

launch() {  # launch DRIVER: start dockerd and wait until it answers; returns 1 if it exits first
    local driver=$1
    mkdir -p "$dir/data-$driver" "$dir/exec"
    dockerd --storage-driver="$driver" --iptables=false --ip-masq=false --bridge=none \
        --data-root "$dir/data-$driver" --exec-root "$dir/exec" --pidfile "$pidfile" \
        -H "unix://$sock" >"$dir/dockerd.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 120); do
        if answering; then
            echo "$driver" >"$dir/driver"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.5
    done
    log "dockerd did not answer within 60 s; log: $dir/dockerd.log"
    kill "$pid" 2>/dev/null || true
    return 1
}

start() {
    mkdir -p "$dir"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && answering; then
        log "already running (pid $(cat "$pidfile"))"
    else
        install_missing
        rm -f "$sock" "$pidfile"
        local drivers=${LIMR_DOCKERD_STORAGE_DRIVER:-overlay2 vfs}
        local started=""
        for driver in $drivers; do
            if launch "$driver"; then
                started=$driver
                break
            fi
            log "storage driver $driver failed; $(tail -n 1 "$dir/dockerd.log")"
        done
        if [ -z "$started" ]; then
            log "could not start dockerd; log: $dir/dockerd.log"
            exit 1
        fi
        log "started (pid $(cat "$pidfile"), storage $started, socket $sock)"
    fi
    echo "export DOCKER_HOST=unix://$sock"
}

stop() {
    if [ ! -f "$pidfile" ]; then
        log "not running"
        return 0
    fi
    local pid
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "dockerd (pid $pid) ignored SIGTERM for 30 s; sending SIGKILL"
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    log "stopped (pid $pid)"
}

case "$action" in
    start) start ;;
    stop) stop ;;
    *)
        echo "usage: $0 start|stop [DIR]" >&2
        exit 2
        ;;
esac
