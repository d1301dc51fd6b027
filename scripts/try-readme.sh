#!/usr/bin/env bash
# The README, typed as a stranger would, in this checkout: `npm start` (the monolith on ./data), then the
# README's own commands to get tokens, create a product and place an order; then `npm run start:split` and
# the same order through the gateway. Each must answer as the README says. CI runs this in its fresh clone,
# so a broken npm script or a missing provisioning step fails the build, not the first user.
#
# Usage: scripts/try-readme.sh   (needs `npm ci` done and, for the split part, `npm run services:up`)
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=http://127.0.0.1:8080
LOG_DIR="$(mktemp -d)"
server_pid=""

fail() {
  echo "try-readme: FAILED: $*" >&2
  for log in "$LOG_DIR"/*.log; do
    [[ -f "$log" ]] && { echo "--- $log (last 40 lines)" >&2; tail -n 40 "$log" >&2; }
  done
  exit 1
}

# Runs a README command in its own process group, so stopping it stops npm, the shell and node beneath.
run_in_background() {
  local name="$1"; shift
  setsid "$@" >"$LOG_DIR/$name.log" 2>&1 &
  server_pid=$!
}

stop_server() {
  [[ -n "$server_pid" ]] || return 0
  kill -TERM -- "-$server_pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -KILL -- "-$server_pid" 2>/dev/null || true
  server_pid=""
}
trap stop_server EXIT

# Waits until every port given answers /health/ready, as a user watching the logs would.
wait_ready() {
  local what="$1" port; shift
  for port in "$@"; do
    for _ in $(seq 1 120); do
      curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && continue 2
      kill -0 "$server_pid" 2>/dev/null || fail "$what exited before it was ready"
      sleep 0.5
    done
    fail "$what was not ready on port $port within 60 s"
  done
}

json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];process.stdout.write(String(v))})' "$1"; }

# The README's walk-through: tokens, a product, an order for it at once (no waiting for anything).
walk_through() {
  local what="$1" admin alice product order status sku="TEA-$RANDOM$RANDOM"
  admin=$(npx hexashop token --sub root --role admin)
  alice=$(npx hexashop token --sub alice --role customer)
  product=$(curl -s -X POST "$BASE/api/v1/products" -H "authorization: Bearer $admin" \
    -H 'content-type: application/json' \
    -d "{\"sku\":\"$sku\",\"name\":\"Green tea\",\"priceCents\":450,\"currency\":\"EUR\",\"stock\":10}")
  local id
  id=$(json_field id <<<"$product") || fail "$what: product not created: $product"
  curl -sf "$BASE/api/v1/products" >/dev/null || fail "$what: GET /api/v1/products failed"
  order=$(curl -s -w '\n%{http_code}' -X POST "$BASE/api/v1/orders" -H "authorization: Bearer $alice" \
    -H 'content-type: application/json' -d "{\"items\":[{\"productId\":\"$id\",\"quantity\":2}]}")
  status=$(tail -n 1 <<<"$order")
  order=$(head -n 1 <<<"$order")
  [[ "$status" == 201 ]] || fail "$what: order answered $status: $order"
  [[ "$(json_field status <<<"$order")" == CONFIRMED ]] || fail "$what: order not CONFIRMED: $order"
  [[ "$(json_field totalCents <<<"$order")" == 900 ]] || fail "$what: order not priced 900: $order"
  echo "try-readme: $what: product $id created, order $(json_field id <<<"$order") CONFIRMED for 900 EUR cents"
}

echo "try-readme: npm start"
run_in_background monolith npm start
wait_ready "npm start" 8080
walk_through "npm start"
stop_server

echo "try-readme: npm run start:split"
run_in_background split npm run start:split
wait_ready "npm run start:split" 8081 8082 8080
walk_through "npm run start:split"
stop_server
echo "try-readme: the README's commands work"
