#!/usr/bin/env bash
# Fuzzes the running API against its own OpenAPI document with every Schemathesis check:
# starts `switchboard serve` (the debug binary the test build made) on a fresh data dir and a
# free loopback port, with egress limited to the (empty) allow-list so that no generated
# webhook URL is ever contacted, creates a tenant, and runs `st run --checks all` with that
# tenant's admin key. `schemathesis_hooks.py` drops only the rejections no schema can express
# (clock, store state, address syntax). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
bin="$target/debug/switchboard"
[ -x "$bin" ] || cargo build --locked -p switchboard-cli

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
data=$(mktemp -d)
eval "$("$bin" root-key)"   # ROOT_KEY, ROOT_KEY_SHA256
ROOT_KEY_SHA256=$ROOT_KEY_SHA256 SWITCHBOARD_EGRESS=allow-list SWITCHBOARD_ALLOW_CIDRS= \
  RUST_LOG=warn "$bin" serve --addr "127.0.0.1:$port" --data-dir "$data" > "$target/schemathesis-serve.log" 2>&1 &
serve=$!
trap 'kill $serve 2>/dev/null || true; rm -rf "$data"' EXIT

base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -fsS "$base/health" >/dev/null 2>&1 && break
  sleep 0.1
done
key=$(curl -fsS -X POST "$base/v1/tenants" -H "authorization: Bearer $ROOT_KEY" \
  -H 'content-type: application/json' -d '{"name":"schemathesis"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"]["key"])')

SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="scripts${PYTHONPATH:+:$PYTHONPATH}" \
  st run "$base/v1/openapi.json" --checks all \
  --header "Authorization: Bearer $key" \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-50}" \
  --seed "${SCHEMATHESIS_SEED:-1}" \
  --workers 1 \
  --report junit --report-junit-path "$target/schemathesis.xml" "$@"
