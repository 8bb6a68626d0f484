#!/usr/bin/env bash
# Benchmarks this checkout against an earlier revision side by side, on the same machine in the
# same run, so a change is judged against like (absolute rates on shared machines drift by tens
# of percent between days; see BENCHMARKS.md, 2026-12-01).
#
# Both are built with the `profiling` profile (release code generation, thin LTO, symbols, for
# `perf`), then alternate round by round, each in a fresh `serve` on a fresh data dir:
#   - authenticated GET /v1/api-keys (5 keys per page), wrk 2 threads, 64 connections;
#   - outbound: EVENTS events to 10 endpoints on the bench driver's loopback receiver, with
#     serve's CPU time per delivery (utime+stime from /proc, so the figure holds even when the
#     machine is busy with something else).
# Prints each round and the median of each figure with the ratio new/old.
#
# Usage: scripts/bench-compare.sh BASE_REV [rounds] [events]
#   OLD_BIN / NEW_BIN: use these `switchboard` binaries instead of building.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_REV=${1:?usage: scripts/bench-compare.sh BASE_REV [rounds] [events]}
ROUNDS=${2:-3}
EVENTS=${3:-5000}
target="${CARGO_TARGET_DIR:-$PWD/target}"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
if [[ -z "${NEW_BIN:-}" ]]; then
  CARGO_TARGET_DIR="$target" cargo build --profile profiling --locked -q -p switchboard-cli
  NEW_BIN="$target/bench-compare-new"
  cp "$target/profiling/switchboard" "$NEW_BIN"
fi
if [[ -z "${OLD_BIN:-}" ]]; then
  base_tree="$target/bench-compare-base"
  git worktree remove --force "$base_tree" 2>/dev/null || true
  git worktree add --detach "$base_tree" "$BASE_REV" >/dev/null
  (cd "$base_tree" && CARGO_TARGET_DIR="$target" cargo build --profile profiling --locked -q -p switchboard-cli)
  OLD_BIN="$target/bench-compare-old"
  cp "$target/profiling/switchboard" "$OLD_BIN"
  git worktree remove --force "$base_tree"
fi

work=$(mktemp -d)
serve_pid=
stop_serve() { [[ -n "$serve_pid" ]] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null; serve_pid=; }
trap 'stop_serve; rm -rf "$work"' EXIT

# Starts `serve` from binary $1 on a fresh data dir; sets base, root, key.
start_serve() {
  local data port
  data=$(mktemp -d -p "$work")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  SWITCHBOARD_ALLOW_CIDRS=127.0.0.1/32 RUST_LOG=warn "$1" serve --addr "127.0.0.1:$port" --data-dir "$data" > "$data/serve.out" 2>&1 &
  serve_pid=$!
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
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$serve_pid/stat"; }

# One round for binary $1 labelled $2: appends "label rps p99_ms deliveries_per_s cpu_ms_per_delivery".
round() {
  local bin=$1 label=$2 rps p99 out before after dps cpu
  start_serve "$bin"
  wrk -t2 -c64 -d2s -H "authorization: Bearer $key" "$base/v1/api-keys" >/dev/null
  wrk -t2 -c64 -d8s --latency -H "authorization: Bearer $key" "$base/v1/api-keys" > "$work/wrk.out"
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) sub("ms","",v); else {sub("s","",v); v*=1000}; print v}' "$work/wrk.out")
  stop_serve
  start_serve "$bin"
  before=$(cpu_ticks)
  out=$("$bin" bench outbound --base "$base" --root-key "$root" --events "$EVENTS" --endpoints 10 --paced-seconds 1)
  after=$(cpu_ticks)
  stop_serve
  dps=$(sed -n 's/.* deliveries in [0-9.]*s (\([0-9]*\) deliveries\/s).*/\1/p' <<< "$out" | head -1)
  cpu=$(python3 -c "print(round(($after - $before) * 1000 / $(getconf CLK_TCK) / ($EVENTS * 10), 4))")
  echo "$label $rps $p99 $dps $cpu" | tee -a "$work/rounds"
}

echo "== $BASE_REV (old) vs $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes') (new), $ROUNDS rounds, $(nproc) cores, $(date -u +%F)"
echo "label req/s p99_ms deliveries/s cpu_ms_per_delivery"
for r in $(seq "$ROUNDS"); do
  if (( r % 2 )); then round "$OLD_BIN" old; round "$NEW_BIN" new; else round "$NEW_BIN" new; round "$OLD_BIN" old; fi
done
python3 - "$work/rounds" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
med = {label: [statistics.median(float(r[i]) for r in rows if r[0] == label) for i in range(1, 5)]
       for label in ("old", "new")}
names = ["GET /v1/api-keys req/s", "GET /v1/api-keys p99 ms", "10 endpoints deliveries/s", "serve CPU ms per delivery"]
print("\n== medians")
for i, name in enumerate(names):
    o, n = med["old"][i], med["new"][i]
    print(f"{name:28} old {o:>10.4g}  new {n:>10.4g}  new/old {n / o:.2f}")
PY
