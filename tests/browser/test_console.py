"""The admin console in a real browser: headless Chromium (Debian's package, driven by
Playwright) against a real `switchboard serve` on a temp data dir, with a loopback receiver
started here. Walks the README's outbound tour without curl, checks the console's safety
properties (text never parsed as HTML, no CSP violation, a revoked key signs out with the API's
reason, field errors beside their field) and writes screenshots of every screen, light and
dark, at 1280 and 390 px, under target/console-screenshots/ for a person to look at.

Run: `scripts/browser.sh` (after the debug build) or `python3 -m pytest -q tests/browser`.
"""

import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
BINARY = TARGET / "debug" / "switchboard"
SHOTS = ROOT / "target" / "console-screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
XSS = "<img src=x onerror=window.__xss=1>"
WAIT_MS = 20_000

expect.set_options(timeout=10_000)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, key=None, body=None):
    """One API call from the test itself (setting up, or acting behind the console's back)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if key:
        req.add_header("authorization", f"Bearer {key}")
    if data is not None:
        req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read()
            is_json = "json" in (r.headers.get("content-type") or "")
            return r.status, (json.loads(text) if text and is_json else text), r.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), e.headers


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def server():
    """`switchboard serve` on a free loopback port and a temp data dir, loopback deliveries allowed."""
    assert BINARY.exists(), f"{BINARY} missing: build it with `cargo build -p switchboard-cli`"
    keys = subprocess.run([str(BINARY), "root-key"], capture_output=True, text=True, check=True).stdout
    env_keys = dict(re.findall(r"^(ROOT_KEY(?:_SHA256)?)=(\S+)$", keys, re.M))
    data = tempfile.mkdtemp(prefix="switchboard-console-")
    port = free_port()
    env = dict(os.environ, ROOT_KEY_SHA256=env_keys["ROOT_KEY_SHA256"], SWITCHBOARD_EGRESS="allow-list",
               SWITCHBOARD_ALLOW_CIDRS="127.0.0.1/32", RUST_LOG="warn")
    log = open(TARGET / "browser-serve.log", "w")
    proc = subprocess.Popen([str(BINARY), "serve", "--addr", f"127.0.0.1:{port}", "--data-dir", data],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            break
        except Exception:
            assert proc.poll() is None, "serve exited; see target/browser-serve.log"
            assert time.time() < deadline, "serve did not come up"
            time.sleep(0.1)
    yield {"base": base, "root": env_keys["ROOT_KEY"]}
    proc.terminate()
    proc.wait(timeout=10)
    log.close()
    shutil.rmtree(data, ignore_errors=True)


class _Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.seen.append((self.path, body))
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def receiver():
    """A loopback HTTP receiver answering 200 to every delivery."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    srv.seen = []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{srv.server_address[1]}", "seen": srv.seen}
    srv.shutdown()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


class Watch:
    """What a page reports that a test must not see: CSP violations, script errors."""

    def __init__(self, page):
        self.console = []
        self.errors = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.add_init_script(
            "window.__csp = [];"
            "document.addEventListener('securitypolicyviolation',"
            " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")

    def assert_clean(self, page):
        csp = [m for m in self.console if "Content Security Policy" in m or "Refused to" in m]
        assert csp == [], csp
        assert page.evaluate("window.__csp") == []
        assert self.errors == [], self.errors


def new_page(browser, server, width=1280, height=800, scheme="light"):
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme,
                                  base_url=server["base"])
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server["base"])
    page = context.new_page()
    return page, Watch(page)


def sign_in(page, key):
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in", exact=True).click()


def tab(page, name):
    page.locator("nav.tabs").get_by_role("link", name=name, exact=True).click()


def accept_next_dialog(page):
    page.once("dialog", lambda d: d.accept())


# ------------------------------------------------------------------ the tour


def test_console_serves_with_strict_headers_and_etags(server):
    status, _, headers = call(server["base"], "GET", "/console")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    csp = headers["content-security-policy"]
    for part in ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]:
        assert part in csp
    assert "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    etag = headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{64}"', etag)
    req = urllib.request.Request(server["base"] + "/console/", headers={"if-none-match": etag})
    with pytest.raises(urllib.error.HTTPError) as not_modified:
        urllib.request.urlopen(req)
    assert not_modified.value.code == 304
    status, _, headers = call(server["base"], "GET", "/console/assets/app.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    status, body, _ = call(server["base"], "GET", "/console/assets/../../v1/tenants")
    assert status == 404


def test_outbound_tour_in_the_browser(browser, server, receiver):
    page, watch = new_page(browser, server)
    page.goto("/console")

    # The root key sees only tenants.
    sign_in(page, server["root"])
    expect(page.locator("nav.tabs a")).to_have_text(["Tenants"])
    page.get_by_label("Tenant name").fill("Acme")
    page.get_by_role("button", name="Create tenant").click()
    admin_key = page.locator(".secret-once .secret").inner_text()
    assert admin_key.startswith("swb_")
    page.get_by_role("button", name="Sign in as this tenant").click()

    # The tenant's admin key: every tab, the tenant named in the header.
    expect(page.get_by_test_id("tenant-name")).to_have_text("Acme")
    expect(page.locator("nav.tabs a")).to_have_text(
        ["Overview", "API keys", "Webhooks", "Events", "Integrations", "Connections", "Actions", "Audit", "Usage"])

    # A new key: shown once with a copy button, then only its prefix.
    tab(page, "API keys")
    page.get_by_label("Name", exact=True).fill("ci deploys")
    page.get_by_label("webhooks:write").check()
    page.get_by_label("events:publish").check()
    page.get_by_role("button", name="Create key").click()
    ci_key = page.locator(".secret-once .secret").inner_text()
    assert ci_key.startswith("swb_") and ci_key != admin_key
    page.locator(".secret-once").get_by_role("button", name="Copy to clipboard").click()
    expect(page.locator(".secret-once").get_by_role("button", name="Copy to clipboard")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == ci_key
    ci_row = page.locator("tr", has_text="ci deploys")
    expect(ci_row.get_by_test_id("key-prefix")).to_have_text(re.compile(r"^swb_\w+…$"))
    assert ci_key.startswith(ci_row.get_by_test_id("key-prefix").inner_text().rstrip("…"))
    tab(page, "Webhooks")
    tab(page, "API keys")
    expect(page.locator("tr", has_text="ci deploys")).to_be_visible()
    assert ci_key not in page.content()

    # A field error from the API lands beside its field.
    tab(page, "Webhooks")
    page.get_by_label("URL", exact=True).fill("ftp://x")
    page.get_by_role("button", name="Create endpoint").click()
    url_error = page.locator('[data-field="url"] .field-error')
    expect(url_error).not_to_be_empty()
    expect(page.get_by_label("URL", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("URL", exact=True)).to_have_value("ftp://x")

    # The endpoint, against the loopback receiver; its description is an XSS probe.
    page.get_by_label("URL", exact=True).fill(receiver["url"] + "/hooks")
    page.get_by_label("Event types").fill("ticket.*")
    page.get_by_label("Description").fill(XSS)
    page.get_by_role("button", name="Create endpoint").click()
    expect(url_error).to_be_empty()
    first_secret = page.locator(".secret-once .secret").inner_text()
    assert first_secret.startswith("whsec_")
    expect(page.locator("td .desc")).to_have_text(XSS)

    # Publish: the data is checked as JSON in the page before anything is sent.
    tab(page, "Events")
    page.get_by_label("Event type", exact=True).fill("ticket.created")
    data = page.get_by_label("Data (JSON)")
    data.fill('{"id": 42,')
    expect(page.locator('[data-field="data"] .field-error')).to_contain_text("Not valid JSON")
    data.fill(json.dumps({"id": 42, "html": XSS}))
    expect(page.locator('[data-field="data"] .field-error')).to_be_empty()
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".alert-ok")).to_contain_text("1 destination matched")
    page.get_by_role("link", name="View the event →").click()

    # The event's detail: the delivery succeeds (the page refreshes itself), attempts listed.
    deliveries = page.get_by_test_id("deliveries")
    expect(deliveries.locator(".badge")).to_have_text("succeeded", timeout=WAIT_MS)
    expect(page.get_by_test_id("event-attempts").locator("tbody tr").first).to_contain_text("200", timeout=WAIT_MS)
    expect(page.get_by_test_id("event-data")).to_contain_text(XSS)
    assert any(b"Printer" not in body and b"onerror" in body for _, body in receiver["seen"])

    # The endpoint's attempt log shows it too; rotating the secret shows a new one once.
    deliveries.get_by_role("link").first.click()
    log_row = page.locator(".list tbody tr").first
    expect(log_row).to_contain_text("succeeded", timeout=WAIT_MS)
    expect(log_row).to_contain_text("200")
    accept_next_dialog(page)
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.locator(".secret-once h3")).to_have_text("New signing secret")
    rotated = page.locator(".secret-once .secret").inner_text()
    assert rotated.startswith("whsec_") and rotated != first_secret

    # A test send shows its attempt inline.
    page.get_by_role("button", name="Send test event").click()
    expect(page.locator(".attempt")).to_contain_text("HTTP 200", timeout=WAIT_MS)

    # Editing sends the changed settings; the page shows them.
    page.get_by_role("button", name="Edit").click()
    page.get_by_label("Description").fill("Helpdesk sync")
    page.get_by_label("Max attempts").fill("5")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("main h1")).to_have_text("Helpdesk sync")
    expect(page.locator(".details")).to_contain_text("5")

    # Revoke the ci key; signing in with it is refused with the API's reason.
    tab(page, "API keys")
    row = page.locator("tr", has_text="ci deploys")
    accept_next_dialog(page)
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator("tr", has_text="ci deploys").locator(".badge")).to_have_text("revoked")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, ci_key)
    expect(page.locator('[data-field="key"] .field-error, .form-alert')).to_contain_text(["API key revoked"])

    # A key revoked behind the console's back signs it out, with the API's reason.
    status, third, _ = call(server["base"], "POST", "/v1/api-keys", admin_key,
                            {"name": "short-lived", "scopes": ["webhooks:read"]})
    assert status == 201
    sign_in(page, third["key"])
    expect(page.locator("nav.tabs a")).to_have_text(["Overview", "Webhooks", "Actions"])
    status, _, _ = call(server["base"], "POST", f"/v1/api-keys/{third['id']}/revoke", admin_key)
    assert status == 200
    tab(page, "Webhooks")
    expect(page.locator(".signed-out")).to_have_text("Signed out: API key revoked")
    assert page.evaluate("sessionStorage.getItem('switchboard.key')") is None

    assert page.evaluate("window.__xss") is None
    watch.assert_clean(page)
    page.context.close()


def test_a_lost_connection_or_a_503_keeps_the_form(browser, server):
    """A publish that cannot reach the server, or meets a 503, says so, offers a retry, and
    keeps everything typed; the retry sends it."""
    status, created, _ = call(server["base"], "POST", "/v1/tenants", server["root"], {"name": "Umbrella"})
    assert status == 201
    page, watch = new_page(browser, server)
    page.goto("/console")
    sign_in(page, created["api_key"]["key"])
    tab(page, "Events")
    page.get_by_label("Event type", exact=True).fill("order.placed")
    page.get_by_label("Data (JSON)").fill('{"order": 7}')
    alert = page.locator("form", has=page.get_by_label("Data (JSON)")).locator(".form-alert")

    page.route("**/v1/events", lambda route: route.abort() if route.request.method == "POST" else route.continue_())
    page.get_by_role("button", name="Publish").click()
    expect(alert).to_contain_text("Could not reach Switchboard")
    expect(page.get_by_label("Event type", exact=True)).to_have_value("order.placed")
    expect(page.get_by_label("Data (JSON)")).to_have_value('{"order": 7}')
    page.unroute("**/v1/events")

    problem = json.dumps({"type": "https://switchboard.dev/problems/unavailable", "title": "Service Unavailable",
                          "status": 503, "detail": "a dependency is unavailable; retry shortly"})
    page.route("**/v1/events", lambda route: route.fulfill(status=503, body=problem, headers={
        "content-type": "application/problem+json", "retry-after": "1"}) if route.request.method == "POST" else route.continue_())
    page.get_by_role("button", name="Publish").click()
    expect(alert).to_contain_text("briefly unavailable")
    expect(page.get_by_label("Data (JSON)")).to_have_value('{"order": 7}')
    page.unroute("**/v1/events")
    alert.get_by_role("button", name="Retry").click()
    expect(page.locator(".alert-ok")).to_contain_text("Published msg_")
    csp = [m for m in watch.console if "Content Security Policy" in m]
    assert csp == [] and watch.errors == []
    page.context.close()


def test_integrations_connections_and_actions_forms(browser, server):
    """The provider-driven forms: an integration shows its hook URL to paste, a connection's
    credential error lands beside that credential, an action previews its template."""
    status, created, _ = call(server["base"], "POST", "/v1/tenants", server["root"], {"name": "Initech"})
    assert status == 201
    page, watch = new_page(browser, server)
    page.goto("/console")
    sign_in(page, created["api_key"]["key"])

    tab(page, "Integrations")
    page.get_by_text("Create an integration").click()
    page.get_by_label("Provider", exact=True).select_option("stripe")
    page.get_by_label("Name", exact=True).fill("billing")
    page.get_by_label("Secret", exact=True).fill("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    page.get_by_role("button", name="Create integration").click()
    hook = page.locator(".secret-once code.url")
    expect(hook).to_contain_text("/hooks/int_")
    expect(page.locator(".secret-once")).to_contain_text("Endpoint URL")
    page.get_by_role("link", name="Open the integration").click()
    expect(page.locator("main h1")).to_have_text("billing")
    expect(page.get_by_text("Nothing received yet")).to_be_visible()

    tab(page, "Connections")
    page.get_by_text("Store provider credentials").click()
    page.get_by_label("Provider", exact=True).select_option("slack")
    page.get_by_label("Name", exact=True).fill("ops")
    webhook_url = page.locator('[data-credential="webhook_url"]')
    expect(webhook_url).to_have_attribute("type", "password")
    webhook_url.fill("https://example.com/not-slack")
    page.get_by_role("button", name="Store credentials").click()
    expect(page.locator('[data-field="credentials.webhook_url"] .field-error')).not_to_be_empty()
    webhook_url.fill("https://hooks.slack.com/services/T1/B1/abcdefgh")
    page.get_by_role("button", name="Store credentials").click()
    expect(page.locator(".alert-ok")).to_contain_text("fingerprint")
    assert "abcdefgh" not in page.content()

    tab(page, "Actions")
    page.get_by_text("Create an action").click()
    expect(page.get_by_label("Kind")).to_have_value("slack_message")
    page.get_by_label("Template (JSON: each value a minijinja template)").fill('{"text": "New {{ event.data.subject }}"}')
    expect(page.locator("pre.json")).to_contain_text("New Printer on fire")
    page.get_by_role("button", name="Create action").click()
    expect(page.locator(".list tbody tr")).to_have_count(1)
    page.get_by_role("button", name="Attempts").click()
    expect(page.get_by_text("No attempts yet")).to_be_visible()
    watch.assert_clean(page)
    page.context.close()


# ------------------------------------------------------------------ screenshots


@pytest.fixture(scope="module")
def tenant(server, receiver):
    """A tenant with something on every screen: keys, an endpoint, delivered events."""
    base = server["base"]
    status, created, _ = call(base, "POST", "/v1/tenants", server["root"], {"name": "Globex"})
    assert status == 201
    key = created["api_key"]["key"]
    call(base, "POST", "/v1/api-keys", key, {"name": "ci deploys", "scopes": ["webhooks:write", "events:publish"],
                                             "expires_at": "2099-01-01T00:00:00Z"})
    call(base, "POST", "/v1/api-keys", key, {"name": "dashboards", "scopes": ["events:read", "usage:read"]})
    status, ep, _ = call(base, "POST", "/v1/webhooks", key, {
        "url": receiver["url"] + "/globex", "event_types": ["ticket.*", "invoice.paid"],
        "description": "Helpdesk sync", "headers": {"X-Team": "support-tooling"}})
    assert status == 201
    ids = []
    for i, kind in enumerate(["ticket.created", "ticket.updated", "invoice.paid", "ticket.closed"]):
        status, pub, _ = call(base, "POST", "/v1/events", key, {"type": kind, "data": {"id": 40 + i, "subject": "Printer on fire"}})
        ids.append(pub["id"])
    status, _, _ = call(base, "POST", "/v1/integrations", key, {
        "type": "github", "name": "acme repos", "config": {"secret": "It is a secret"},
        "mapping": {"repo": "$.repository.full_name"}, "route": {"event_type": "github.push"}})
    assert status == 201
    status, conn, _ = call(base, "POST", "/v1/connections", key, {
        "provider": "slack", "name": "ops channel",
        "credentials": {"webhook_url": "https://hooks.slack.com/services/T000/B000/XXXXXXXX"},
        "metadata": {"env": "production"}})
    assert status == 201
    status, _, _ = call(base, "POST", "/v1/actions", key, {
        "connection_id": conn["id"], "kind": "slack_message", "event_types": ["invoice.*"],
        "template": {"text": "Paid: {{ event.data.id }}"}})
    assert status == 201
    deadline = time.time() + 20
    while time.time() < deadline:
        _, ev, _ = call(base, "GET", f"/v1/events/{ids[-1]}", key)
        if ev["deliveries"] and ev["deliveries"][0]["status"] == "succeeded":
            break
        time.sleep(0.2)
    return {"key": key, "endpoint": ep["id"], "event": ids[-1]}


SCREENS = ["overview", "keys", "webhooks", "webhooks/{endpoint}", "events", "events/{event}", "integrations",
           "connections", "actions", "audit", "usage"]


@pytest.mark.parametrize("width,scheme", [(1280, "light"), (1280, "dark"), (390, "light"), (390, "dark")])
def test_screenshots_of_every_screen(browser, server, tenant, width, scheme):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page, watch = new_page(browser, server, width=width, height=800 if width > 400 else 844, scheme=scheme)
    page.goto("/console")
    expect(page.get_by_label("API key")).to_be_focused()
    page.screenshot(path=str(SHOTS / f"signin-{scheme}-{width}.png"), full_page=True)
    sign_in(page, server["root"])
    expect(page.locator("nav.tabs a")).to_have_text(["Tenants"])
    expect(page.locator(".list tbody tr").first).to_be_visible()
    page.screenshot(path=str(SHOTS / f"tenants-{scheme}-{width}.png"), full_page=True)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, tenant["key"])
    expect(page.get_by_test_id("tenant-name")).to_have_text("Globex")
    for screen in SCREENS:
        page.goto("/console#/" + screen.format(**tenant))
        expect(page.locator(".loading")).to_have_count(0, timeout=WAIT_MS)
        expect(page.locator("main h1")).to_be_visible()
        name = screen.split("/")[0] + ("-detail" if "/" in screen else "")
        page.screenshot(path=str(SHOTS / f"{name}-{scheme}-{width}.png"), full_page=True)
        if width == 1280:  # the first screenful, as the README shows it
            page.screenshot(path=str(SHOTS / f"{name}-{scheme}-1280x800.png"))
        # Readable at this width: nothing makes the page scroll sideways.
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{name} at {width}px scrolls sideways by {overflow}px"
    watch.assert_clean(page)
    page.context.close()
