#!/usr/bin/env bash
# The split topology on this machine: product :8081, order :8082 and gateway :8080 as three processes on
# MySQL (MariaDB here), Kafka and Redis. services.sh starts the local services if needed and creates the
# schemas, users and topics (all idempotent); then the roles run until Ctrl-C, which stops all three
# gracefully. Extra arguments go to every role, e.g. `npm run start:split -- --mode async`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/services.sh up
# The pinned Node 24 also when run as plain `bash scripts/start-split.sh` (services.sh checked it is there).
node=node_modules/.bin/node
[ -x "$node" ] || node=node

pids=()
stop() {
  trap - INT TERM EXIT
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

for role in product order gateway; do
  # Process substitution keeps $! the node process itself, so the TERM reaches it, not a pipe.
  "$node" bin/hexashop.js start --role "$role" "$@" > >(sed -u "s/^/[$role] /") 2>&1 &
  pids+=($!)
  [ "$role" = gateway ] || sleep 1
done
# Say "ready" only once every role answers /health/ready, so what a user types next finds them all up.
ready() { curl -sf "http://127.0.0.1:$1/health/ready" >/dev/null 2>&1; }
for _ in $(seq 1 120); do
  if ready 8081 && ready 8082 && ready 8080; then
    echo "split roles ready: gateway http://127.0.0.1:8080 (Ctrl-C stops them)"
    break
  fi
  sleep 0.5
done
# If any role exits, stop the others: a partial topology is worse than none.
wait -n "${pids[@]}"
