#!/usr/bin/env bash
# A local Prometheus for Hexashop: deploy/observability/prometheus.yml and its rules, scraping the roles on
# 127.0.0.1 (monolith or gateway :8080, product :8081, order :8082), storage in a temporary directory.
#
# Usage: scripts/observe.sh [--stop|--status]     (npm run observe, npm run observe -- --stop)
#
#   (none)    checks the config and rules, starts Prometheus on 127.0.0.1:9090 (OBSERVE_PORT overrides it)
#             unless this script's one is running already, and prints its URL.
#   --stop    stops the Prometheus this script started and deletes its storage.
#   --status  says whether it runs, and where.
#
# It installs nothing: Prometheus comes from Debian (`apt-get install -y prometheus`, which also gives promtool).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONFIG="$ROOT/deploy/observability/prometheus.yml"
STATE="$ROOT/.cache/observe"
PORT="${OBSERVE_PORT:-9090}"
URL="http://127.0.0.1:$PORT"

die() { echo "observe: ERROR: $*" >&2; exit 1; }

# The pid of our Prometheus if it is alive (and the pid file is not stale, reused by another process).
running_pid() {
  local pid
  [[ -f "$STATE/pid" ]] || return 1
  pid="$(<"$STATE/pid")"
  [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--config.file=$CONFIG" || return 1
  echo "$pid"
}

stop() {
  local pid i
  if pid="$(running_pid)"; then
    kill -TERM "$pid"
    for ((i = 0; i < 20; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "observe: stopped Prometheus (pid $pid)"
  else
    echo "observe: not running"
  fi
  [[ -f "$STATE/storage" ]] && rm -rf -- "$(<"$STATE/storage")"
  rm -f "$STATE/pid" "$STATE/storage" "$STATE/url"
}

start() {
  local pid storage i
  if pid="$(running_pid)"; then
    echo "observe: Prometheus already runs (pid $pid) on $(<"$STATE/url")"
    return 0
  fi
  command -v prometheus >/dev/null && command -v promtool >/dev/null ||
    die "prometheus is not installed; install it with: apt-get install -y prometheus"
  promtool check config "$CONFIG" >/dev/null || die "promtool check config $CONFIG failed"
  if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null; then
    die "127.0.0.1:$PORT is taken; stop what listens there or set OBSERVE_PORT"
  fi
  mkdir -p "$STATE"
  storage="$(mktemp -d "${TMPDIR:-/tmp}/hexashop-prometheus.XXXXXX")"
  echo "$storage" >"$STATE/storage"
  nohup prometheus \
    --config.file="$CONFIG" \
    --storage.tsdb.path="$storage" \
    --web.listen-address="127.0.0.1:$PORT" \
    --web.enable-lifecycle \
    >"$STATE/prometheus.log" 2>&1 &
  echo $! >"$STATE/pid"
  echo "$URL" >"$STATE/url"
  for ((i = 0; i < 40; i++)); do
    if curl -fsS "$URL/-/ready" >/dev/null 2>&1; then
      echo "observe: Prometheus on $URL (alerts: $URL/alerts, targets: $URL/targets)"
      echo "observe: log in $STATE/prometheus.log; stop it with: npm run observe -- --stop"
      return 0
    fi
    kill -0 "$(<"$STATE/pid")" 2>/dev/null || break
    sleep 0.5
  done
  tail -n 20 "$STATE/prometheus.log" >&2 || true
  stop >/dev/null
  die "Prometheus did not become ready on $URL"
}

case "${1:-}" in
  "") start ;;
  --stop | stop) stop ;;
  --status | status)
    if pid="$(running_pid)"; then echo "observe: running (pid $pid) on $(<"$STATE/url")"; else echo "observe: not running"; fi
    ;;
  *) die "unknown argument '$1' (use no argument, --stop or --status)" ;;
esac
