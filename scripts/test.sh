#!/usr/bin/env bash
# Runs every test of the project on a fresh machine: installs the Python tools it needs
# (moto server, cfn-lint, cargo-lambda, schemathesis, checkov, playwright + pytest, Debian's
# chromium), starts moto on a loopback port,
# lints and reviews the SAM template (cfn-lint, checkov), runs the whole Rust test suite (unit,
# conformance on both adapters, end to end), drives the admin Lambda through `cargo lambda watch`
# + `invoke` against moto, and fuzzes `serve` with Schemathesis (every check) against its own
# OpenAPI document, then drives the admin console in headless Chromium (tests/browser).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target

echo "==> installing test tools (moto[server], cfn-lint, cargo-lambda, schemathesis, checkov, playwright, chromium)"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
  'moto[server]>=5' 'cfn-lint>=1' 'cargo-lambda>=1.9' 'flask-cors' 'schemathesis==4.32.5' \
  'playwright==1.65.2' 'pytest>=8'
# The console's browser tests drive Debian's chromium (Playwright's own browser download is not
# used): installed when missing, with sudo when not root.
if ! command -v chromium >/dev/null; then
  sudo=$([[ $(id -u) -eq 0 ]] || echo sudo)
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
# checkov in its own virtualenv: it pins older boto3/botocore, networkx and packaging, which would
# downgrade what moto and cfn-lint run on. Pinned, so a new checkov release cannot fail the command
# with checks nobody has reviewed.
if [[ ! -x target/checkov-venv/bin/checkov ]] || ! target/checkov-venv/bin/checkov --version | grep -qx '3.3.30'; then
  python3 -m venv target/checkov-venv
  target/checkov-venv/bin/python -m pip install --quiet --disable-pip-version-check 'checkov==3.3.30'
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # url, seconds
  python3 - "$1" "$2" <<'PY'
import sys, time, urllib.request
url, deadline = sys.argv[1], time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        urllib.request.urlopen(url, timeout=1); sys.exit(0)
    except Exception as e:
        if hasattr(e, "code"): sys.exit(0)  # any HTTP answer means it is up
        time.sleep(0.2)
sys.exit(f"{url} did not come up")
PY
}

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

MOTO_PORT=$(free_port)
echo "==> starting moto server on 127.0.0.1:$MOTO_PORT"
python3 -m moto.server -H 127.0.0.1 -p "$MOTO_PORT" > target/moto.log 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$MOTO_PORT/moto-api/" 60
export MOTO_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export AWS_ENDPOINT_URL="$MOTO_ENDPOINT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

echo "==> cargo fmt --check, clippy -D warnings (unwrap/expect denied outside tests)"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> the Lambdas do not compile SQLite, the local key, demo data or conformance suites"
if cargo tree --locked -e normal -p switchboard-admin -p switchboard-intake -p switchboard-delivery | grep -q rusqlite; then
  echo "a Lambda depends on rusqlite: the embedded adapter set leaked into production" >&2
  exit 1
fi

echo "==> cfn-lint template.yaml"
cfn-lint template.yaml

echo "==> checkov template.yaml (every check it skips is skipped in the template, with the reason)"
target/checkov-venv/bin/checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download

echo "==> docs/scale.md is what scripts/capacity.py makes of its measured inputs and the template"
python3 scripts/capacity.py --check

echo "==> cargo lambda: the admin function invoked with sample events against moto"
scripts/lambda-smoke.sh

echo "==> cargo test (workspace)"
cargo test --workspace --locked

echo "==> Schemathesis, every check, against serve's OpenAPI document (the debug build above)"
scripts/schemathesis.sh

echo "==> the admin console in headless Chromium (Playwright) against serve; screenshots in target/console-screenshots/"
scripts/browser.sh
