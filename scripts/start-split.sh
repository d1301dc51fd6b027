#!/usr/bin/env bash
# The split topology on this machine: product :8081, order :8082 and gateway :8080 as three processes on
# MySQL (MariaDB here), Kafka and Redis. Starts the local services if needed, creates the schemas, users
# and topics (all idempotent), then runs the roles until Ctrl-C, which stops all three gracefully.
# Extra arguments go to every role, e.g. `npm run start:split -- --mode async`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/services.sh up
node bin/hexashop.js db setup --admin-url "${HEXASHOP_MYSQL_ADMIN_URL:-mysql://root@127.0.0.1:3306}"
node bin/hexashop.js kafka topics

pids=()
stop() {
  trap - INT TERM EXIT
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

for role in product order gateway; do
  # Process substitution keeps $! the node process itself, so the TERM reaches it, not a pipe.
  node bin/hexashop.js start --role "$role" "$@" > >(sed -u "s/^/[$role] /") 2>&1 &
  pids+=($!)
  [ "$role" = gateway ] || sleep 1
done
echo "split roles running: gateway http://127.0.0.1:8080 (Ctrl-C stops them)"
# If any role exits, stop the others: a partial topology is worse than none.
wait -n "${pids[@]}"
