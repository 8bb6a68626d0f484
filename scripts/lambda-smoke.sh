#!/usr/bin/env bash
# The README's cargo-lambda tour, as a check: create AWS resources in the emulator, seed the
# demo tenant, run the admin function under `cargo lambda watch`, invoke it with sample events
# and check the answers. Expects AWS_ENDPOINT_URL and credentials in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${AWS_ENDPOINT_URL:?point AWS_ENDPOINT_URL at moto (scripts/test.sh does)}"

cargo build --locked -q -p switchboard-cli -p switchboard-admin
bin="${CARGO_TARGET_DIR:-target}/debug/switchboard"
eval "$("$bin" aws-init --table "smoke-$RANDOM$RANDOM" --queue "smoke-$RANDOM$RANDOM")"
export TABLE_NAME QUEUE_URL DLQ_URL KMS_KEY_ID
"$bin" demo seed >/dev/null
export ROOT_KEY_SHA256
ROOT_KEY_SHA256=$("$bin" demo seed | sed -n 's/.*ROOT_KEY_SHA256=//p')

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cargo lambda watch --invoke-port "$port" > target/lambda-watch.log 2>&1 &
watch_pid=$!
trap 'kill $watch_pid 2>/dev/null || true; pkill -f "debug/switchboard-admin" 2>/dev/null || true' EXIT

invoke() { # event file, expected status
  local out status deadline=$((SECONDS + 300))
  until out=$(cargo lambda invoke --invoke-port "$port" switchboard-admin --data-file "events/$1" 2>&1); do
    if (( SECONDS > deadline )); then echo "invoke $1 failed: $out"; cat target/lambda-watch.log; exit 1; fi
    sleep 1
  done
  status=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["statusCode"])')
  if [[ "$status" != "$2" ]]; then echo "events/$1: expected $2, got $status: $out"; exit 1; fi
  echo "   events/$1 -> $status"
}
invoke admin-health.json 200
invoke admin-console.json 200
invoke admin-whoami.json 200
invoke admin-create-tenant.json 201
invoke admin-list-api-keys.json 200
invoke admin-list-api-keys-no-key.json 401
echo "   lambda smoke: every invocation answered as expected"
