#!/usr/bin/env bash
# Benchmarks `switchboard serve` on the embedded default and reports what BENCHMARKS.md records:
#   - authenticated GET /v1/api-keys: requests/s and p50/p99 latency at 64 connections (wrk);
#   - the stripped size of each Lambda binary (release profile: lto, codegen-units=1, strip);
#   - outbound: 20,000 events to 10 endpoints on a local receiver (deliveries/s, events/s, p50/p99
#     publish->delivery at half the sustained rate, serve's peak RSS), then the 1-endpoint case;
#   - inbound: 20,000 GitHub-signed 2 KiB webhooks to POST /hooks/{id} at 64 connections
#     (accepted req/s and latency), then processed, routed and delivered to a loopback receiver
#     subscribed to the routed event (end-to-end rate; every accepted one delivered once);
#   - actions: 10,000 events to one webhook, then to one twilio_sms action (the receiver stands in
#     for Twilio through SWITCHBOARD_TWILIO_BASE_URL), alternated twice: the cost of an action
#     beside a plain delivery;
#   - sign+verify of a 2 KiB body per core;
#   - write heat: the hottest DynamoDB partition key of one simulated second of a 10,000
#     deliveries/s tenant (heat-report), and from it and serve's CPU per delivery the capacity
#     model's inputs (docs/scale-inputs.json) and page (docs/scale.md, by scripts/capacity.py);
#   - inbound verify alone of a 2 KiB body, per provider (standard_webhooks beside the
#     standardwebhooks crate).
# Usage: scripts/bench.sh [seconds]   (default 20 s of load after a 3 s warm-up)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release --locked -q -p switchboard-cli -p switchboard-admin -p switchboard-intake -p switchboard-delivery
cargo build --release --locked -q -p switchboard-tests --bin heat-report
release="${CARGO_TARGET_DIR:-target}/release"

data=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
twilio_port=$(free_port)
SWITCHBOARD_TWILIO_BASE_URL="http://127.0.0.1:$twilio_port" \
SWITCHBOARD_ALLOW_CIDRS=127.0.0.1/32 RUST_LOG=warn "$release"/switchboard serve --addr "127.0.0.1:$port" --data-dir "$data" > "$data/serve.out" 2>&1 &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$data/serve.out" && break; sleep 0.1; done
root=$(sed -n 's/^ *ROOT_KEY=//p' "$data/serve.out")
base="http://127.0.0.1:$port"

key=$(curl -sf -X POST "$base/v1/tenants" -H "authorization: Bearer $root" \
  -H 'content-type: application/json' -d '{"name":"bench"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"]["key"])')
for i in 1 2 3 4; do
  curl -sf -X POST "$base/v1/api-keys" -H "authorization: Bearer $key" -H 'content-type: application/json' \
    -d "{\"name\":\"bench $i\",\"scopes\":[\"webhooks:read\"]}" >/dev/null
done

echo "== authenticated GET /v1/api-keys (5 keys per page), 64 connections, ${DURATION}s"
wrk -t2 -c64 -d3s -H "authorization: Bearer $key" "$base/v1/api-keys" >/dev/null
wrk -t2 -c64 -d"${DURATION}s" --latency -H "authorization: Bearer $key" "$base/v1/api-keys" | tee "$data/wrk.out"
non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: *//p' "$data/wrk.out")
[[ -z "$non2xx" ]] || { echo "error: $non2xx non-2xx responses"; exit 1; }
rps=$(awk '/Requests\/sec/ {print $2}' "$data/wrk.out")
p50=$(awk '$1=="50%" {print $2}' "$data/wrk.out")
p99=$(awk '$1=="99%" {print $2}' "$data/wrk.out")
rss=$(awk '/VmHWM/ {print $2/1024 " MiB"}' "/proc/$serve_pid/status")

echo
echo "== outbound: 20000 events x 10 endpoints, then 1 endpoint (receiver in the bench driver)"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$serve_pid/stat"; }
ticks_before=$(cpu_ticks)
"$release"/switchboard bench outbound --base "$base" --root-key "$root" --events 20000 --endpoints 10 | tee "$data/out10.txt"
ticks_after=$(cpu_ticks)
cpu_ms_per_delivery=$(python3 -c "print(($ticks_after - $ticks_before) * 1000 / $(getconf CLK_TCK) / 200000)")
rss_out=$(awk '/VmHWM/ {print $2/1024 " MiB"}' "/proc/$serve_pid/status")
"$release"/switchboard bench outbound --base "$base" --root-key "$root" --events 20000 --endpoints 1 | tee "$data/out1.txt"
echo "== inbound: GitHub-signed 2 KiB webhooks to POST /hooks/{id}, 64 connections, then processed and delivered"
"$release"/switchboard bench inbound --base "$base" --root-key "$root" --requests 20000 | tee "$data/inbound.txt"
echo "== actions: one webhook vs one twilio_sms action, 10000 events each, 2 rounds"
"$release"/switchboard bench actions --base "$base" --root-key "$root" --events 10000 --receiver-port "$twilio_port" | tee "$data/actions.txt"
echo "== sign+verify"
"$release"/switchboard bench sign | tee "$data/sign.txt"
echo "== inbound verify alone, per provider"
"$release"/switchboard bench verify | tee "$data/verify.txt"

echo "== write heat (one simulated second at 10,000 deliveries/s)"
"$release"/heat-report "$data/heat.json" | tee "$data/heat.txt"
python3 - "$data/heat.json" "$cpu_ms_per_delivery" > docs/scale-inputs.json <<'PY'
import json, os, platform, sys, time
print(json.dumps({
    "measured": time.strftime("%Y-%m-%d", time.gmtime()),
    "machine": f"{os.cpu_count()} cores, {platform.machine()}",
    "cpu_ms_per_delivery": round(float(sys.argv[2]), 4),
    "heat": json.load(open(sys.argv[1])),
}, indent=2))
PY
python3 scripts/capacity.py

echo
echo "== summary ($(date -u +%F), $(nproc) cores, $(uname -m))"
echo "GET /v1/api-keys: ${rps} req/s, p50 ${p50}, p99 ${p99} (target >= 20000 req/s, p99 <= 10ms); serve peak RSS ${rss}"
echo "serve peak RSS after the 10-endpoint run: ${rss_out} (target <= 150 MB)"
cat "$data/out10.txt" "$data/out1.txt"
cat "$data/inbound.txt"; echo "(inbound targets: >= 10000 accepted req/s with p99 <= 20 ms; >= 3000/s end to end)"
cat "$data/actions.txt"
cat "$data/sign.txt" "$data/verify.txt" "$data/heat.txt"
echo "serve CPU per delivery (10-endpoint run): ${cpu_ms_per_delivery} ms"
for f in admin intake delivery; do
  size=$(stat -c %s "$release/switchboard-$f")
  echo "switchboard-$f: $(python3 -c "print(f'{$size/1e6:.1f}')") MB stripped ($(uname -m); target <= 15 MB)"
done
