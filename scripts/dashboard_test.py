#!/usr/bin/env python3
"""dashboard_test: /dashboard in headless Chromium, against a server started by scripts/test-dashboard.

Needs DASHBOARD_URL (the server, AUTH_MODE=jwt, on an empty database), JWT_SECRET (its HS256
secret: tokens are minted here with the standard library) and SCREENSHOT_DIR. Drives Debian's
/usr/bin/chromium with Playwright for Python (never a downloaded browser) and checks, in order:

1. an empty database: every chart says it has no data yet (1280 px);
2. an expired token and a non-admin token: a clear message and the token field again;
3. after seeding through the API (sessions, messages, LLM usage of two models, feedback,
   research requests completed/failed/pending, analytics events): every chart's bars carry the
   seeded figures (read from data-value attributes) at 1280 px, and again at 375 px after a reload;
4. the periodic refresh picks up a new message within one period;
5. at both widths: no horizontal overflow and every chart visible; and never a console error or
   an uncaught page error (the expired and non-admin runs allow only the browser's own
   "Failed to load resource: … 401/403" line for the refused call);
6. with DASHBOARD_NONE_URL (the same database served with AUTH_MODE=none): the page asks for a
   user id instead of a token and draws the same figures.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

from playwright.sync_api import sync_playwright

BASE = os.environ["DASHBOARD_URL"].rstrip("/")
SECRET = os.environ["JWT_SECRET"].encode()
SHOTS = os.environ.get("SCREENSHOT_DIR", ".data/dashboard-screenshots")
CHARTS = [
    "messages-per-day", "sessions-per-day", "llm-calls", "llm-tokens", "llm-cost", "llm-latency", "feedback",
    "research-outcomes", "research-durations", "event-types",
]
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(sub, roles=(), expires_in=3600):
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": sub, "exp": int(time.time()) + expires_in, "roles": list(roles)}).encode())
    signature = hmac.new(SECRET, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def api(method, path, body=None, as_token=None, expect=None):
    request = urllib.request.Request(BASE + path, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("Authorization", "Bearer " + as_token)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if method == "POST":
        request.add_header("Idempotency-Key", str(uuid.uuid4()))
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    if expect is not None and status not in expect:
        raise SystemExit(f"{method} {path}: {status} {text[:500]!r}")
    return json.loads(text) if text else None


def seed(user):
    """What the charts must then show; returns the counts this script knows independently."""
    sessions = [api("POST", "/db/sessions/create", {"title": f"s{i}"}, user, {201})["id"] for i in range(3)]
    messages = []
    for session, count in zip(sessions, [3, 2, 0]):
        for i in range(count):
            messages.append(api("POST", "/db/messages/store", {"session_id": session, "role": "user", "content": f"message {i}"}, user, {201})["id"])
    usage = [
        ("openai", "gpt-4o-mini", 100, 20, 100, 0.001), ("openai", "gpt-4o-mini", 200, 40, 200, 0.002),
        ("openai", "gpt-4o-mini", 300, 60, 300, 0.003),
        ("anthropic", "claude-3-haiku", 1000, 500, 400, 0.01), ("anthropic", "claude-3-haiku", 3000, 500, 800, 0.02),
    ]
    for provider, model, prompt, completion, duration, cost in usage:
        api("POST", "/db/llm-usage", {"provider": provider, "model": model, "prompt_tokens": prompt, "completion_tokens": completion,
                                      "duration_ms": duration, "cost_usd": cost, "session_id": sessions[0]}, user, {201})
    for target_type, target, rating in [("session", sessions[0], 5), ("session", sessions[1], 5), ("message", messages[0], 4),
                                        ("message", messages[1], 1)]:
        api("POST", "/db/feedback", {"target_type": target_type, "target_id": target, "rating": rating}, user, {201})
    research = [api("POST", "/db/research/create", {"session_id": sessions[0], "question": f"q{i}", "workflow_type": "deep.search"},
                    user, {201})["id"] for i in range(4)]
    for rid, outcome in [(research[0], {"status": "completed", "result": {"answer": 1}}),
                         (research[1], {"status": "completed", "result": {"answer": 2}}),
                         (research[2], {"status": "failed", "error": "timeout"})]:
        api("PATCH", f"/db/research/{rid}", {"status": "running"}, user, {200})
        time.sleep(0.05)
        api("PATCH", f"/db/research/{rid}", outcome, user, {200})
    events = [{"event_type": "search.query", "session_id": sessions[0]}] * 5 + [{"event_type": "page.view"}] * 3 + \
        [{"event_type": "export.csv"}]
    api("POST", "/db/analytics/batch", {"events": events}, user, {202})
    return sessions


def chart_values(page, chart):
    return page.eval_on_selector_all(
        f'[data-chart="{chart}"] rect[data-value]',
        "nodes => Object.fromEntries(nodes.map(n => [n.dataset.label, Number(n.dataset.value)]))")


def layout(page, width):
    """No horizontal overflow, and every chart on screen at this width with a drawn body."""
    overflow = page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
    check(overflow[0] <= overflow[1], f"{width} px: no horizontal overflow (scrollWidth {overflow[0]} <= innerWidth {overflow[1]})")
    boxes = page.eval_on_selector_all(
        "[data-chart]", "nodes => nodes.map(n => { const r = n.getBoundingClientRect(); "
        "return [n.dataset.chart, r.width, r.height, r.left, r.right, n.querySelector('.plot').childElementCount]; })")
    bad = [b for b in boxes if not (b[1] > 200 and b[2] > 60 and b[3] >= 0 and b[4] <= width + 0.5 and b[5] > 0)]
    check(len(boxes) == len(CHARTS) and not bad, f"{width} px: all {len(CHARTS)} charts visible within the width {bad or ''}")


def new_page(browser, width, allowed=()):
    context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and not any(a in m.text for a in allowed) and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    return context, page, problems


def sign_in(page, value):
    page.goto(BASE + "/dashboard")
    page.wait_for_selector("#token", state="visible", timeout=10000)
    page.fill("#token", value)
    page.click("#auth button[type=submit]")


def main():
    os.makedirs(SHOTS, exist_ok=True)
    admin = token("ops", ["admin"])
    user = token("dashboard-user")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])

        # 1. An empty database: every chart in its empty state.
        context, page, problems = new_page(browser, 1280)
        sign_in(page, admin)
        page.wait_for_selector("#charts:not([hidden])", timeout=15000)
        states = page.eval_on_selector_all("[data-chart]", "nodes => nodes.map(n => [n.dataset.chart, n.dataset.state])")
        check(len(states) == len(CHARTS) and all(s == "empty" for _, s in states), f"empty database: every chart is empty {states}")
        empties = page.eval_on_selector_all("[data-chart] .empty", "nodes => nodes.map(n => n.innerText)")
        check(len(empties) == len(CHARTS) and all("No" in t and "yet" in t for t in empties), "empty database: each chart says 'No … yet'")
        check(page.locator("[data-chart] rect").count() == 0, "empty database: no bars drawn")
        layout(page, 1280)
        page.screenshot(path=f"{SHOTS}/empty-1280.png", full_page=True)
        check(not problems, f"empty database: no console errors {problems}")
        context.close()

        # 2. An expired token, then a valid token without the admin role.
        for label, value, status in [("expired", token("ops", ["admin"], expires_in=-3600), 401), ("non-admin", user, 403)]:
            context, page, problems = new_page(browser, 375, allowed=[f"status of {status}"])
            sign_in(page, value)
            page.wait_for_selector(f'#message[data-status="{status}"]', state="visible", timeout=10000)
            text = page.inner_text("#message")
            check(("expired" in text if status == 401 else "not an admin" in text), f"{label} token: a clear message: {text!r}")
            check(page.is_visible("#token") and not page.is_visible("#charts"), f"{label} token: the token field is back, no charts")
            stored = page.evaluate("() => sessionStorage.getItem('researchstore.dashboard.token')")
            check(stored is None, f"{label} token: dropped from session storage")
            page.screenshot(path=f"{SHOTS}/{label}-375.png", full_page=True)
            check(not problems, f"{label} token: no console errors beyond the refused call {problems}")
            context.close()

        # 3. Seed through the API; what the admin routes answer is what the bars must carry.
        started = time.monotonic()
        sessions = seed(user)
        print(f"seeded in {time.monotonic() - started:.1f} s", flush=True)
        today = time.strftime("%Y-%m-%d", time.gmtime())

        context, page, problems = new_page(browser, 1280)
        sign_in(page, admin)
        page.wait_for_selector('[data-chart="messages-per-day"][data-state="ready"]', timeout=15000)
        stored = page.evaluate("() => sessionStorage.getItem('researchstore.dashboard.token')")
        check(stored == admin, "the token is kept in session storage")
        check(not page.is_visible("#auth") and page.is_visible("#signout"), "signed in: the token form is gone, 'Change token' shown")

        def verify(width):
            messages = chart_values(page, "messages-per-day")
            check(len(messages) == 14 and messages.get(today) == 5 and sum(messages.values()) == 5,
                  f"{width} px: messages per day: 14 days, 5 today ({messages.get(today)})")
            days = chart_values(page, "sessions-per-day")
            check(days.get(today) == 3 and sum(days.values()) == 3, f"{width} px: sessions per day: 3 today ({days.get(today)})")
            calls = chart_values(page, "llm-calls")
            check(calls == {"openai/gpt-4o-mini": 3, "anthropic/claude-3-haiku": 2}, f"{width} px: LLM calls by model {calls}")
            tokens = chart_values(page, "llm-tokens")
            check(tokens == {"openai/gpt-4o-mini": 720, "anthropic/claude-3-haiku": 5000}, f"{width} px: LLM tokens by model {tokens}")
            cost = chart_values(page, "llm-cost")
            check(abs(cost.get("openai/gpt-4o-mini", 0) - 0.006) < 1e-9 and abs(cost.get("anthropic/claude-3-haiku", 0) - 0.03) < 1e-9,
                  f"{width} px: LLM cost by model {cost}")
            latency = chart_values(page, "llm-latency")
            expected = {"openai/gpt-4o-mini p50": 200, "openai/gpt-4o-mini p95": 290, "openai/gpt-4o-mini p99": 298,
                        "anthropic/claude-3-haiku p50": 600, "anthropic/claude-3-haiku p95": 780, "anthropic/claude-3-haiku p99": 796}
            check(latency.keys() == expected.keys() and all(abs(latency[k] - v) < 1e-6 for k, v in expected.items()),
                  f"{width} px: LLM latency percentiles {latency}")
            feedback = chart_values(page, "feedback")
            check(feedback == {"1★": 1, "2★": 0, "3★": 0, "4★": 1, "5★": 2}, f"{width} px: feedback distribution {feedback}")
            outcomes = chart_values(page, "research-outcomes")
            check(outcomes == {"pending": 1, "running": 0, "completed": 2, "failed": 1, "cancelled": 0},
                  f"{width} px: research outcomes {outcomes}")
            durations = chart_values(page, "research-durations")
            check(set(durations) == {f"{s} {f}" for s in ("completed", "failed") for f in ("mean", "p50", "p95", "max")}
                  and durations["completed max"] >= durations["completed p50"] > 0 and durations["failed max"] > 0,
                  f"{width} px: research durations {durations}")
            events = chart_values(page, "event-types")
            check(events == {"search.query": 5, "page.view": 3, "export.csv": 1}, f"{width} px: busiest event types {events}")
            order = page.eval_on_selector_all('[data-chart="event-types"] rect', "nodes => nodes.map(n => n.dataset.label)")
            check(order == ["search.query", "page.view", "export.csv"], f"{width} px: event types busiest first {order}")
            tiles = page.eval_on_selector_all("[data-tile]", "nodes => Object.fromEntries(nodes.map(n => [n.dataset.tile, n.dataset.value]))")
            check(tiles["sessions"] == "3" and tiles["messages"] == "5" and tiles["llm-calls"] == "5" and tiles["events"] == "9"
                  and tiles["feedback"] == "4", f"{width} px: summary tiles {tiles}")
            check(page.locator('[data-chart][data-state="empty"]').count() == 0, f"{width} px: no chart left empty")
            check("Updated at" in page.inner_text("#updated"), f"{width} px: 'updated at' shown: {page.inner_text('#updated')!r}")
            layout(page, width)

        # The research durations are what the store measured: compare them with its own answer.
        verify(1280)
        research = api("GET", "/db/admin/stats/activity", None, admin, {200})["research"]
        shown = chart_values(page, "research-durations")
        check(all(abs(shown[f"{s} {f}"] - (research[s]["duration_ms"][f] or 0)) < 1e-6 for s in ("completed", "failed")
                  for f in ("mean", "p50", "p95", "max")), f"research durations match the store's {research['completed']['duration_ms']}")
        page.screenshot(path=f"{SHOTS}/dashboard-1280.png", full_page=True)

        # 4. The periodic refresh: one more message shows up within a period (10 s) and a bit.
        before = page.get_attribute("#updated", "data-updated")
        api("POST", "/db/messages/store", {"session_id": sessions[2], "role": "user", "content": "late"}, user, {201})
        page.wait_for_selector('[data-tile="messages"][data-value="6"]', timeout=14000)
        check(page.get_attribute("#updated", "data-updated") != before, "the periodic refresh drew the new message (6) and moved 'updated at'")
        api("POST", "/db/messages/store", {"session_id": sessions[2], "role": "user", "content": "later"}, user, {201})

        # 5. A phone's width: the same figures after a reload (the token is still in this tab).
        page.set_viewport_size({"width": 375, "height": 812})
        page.reload()
        page.wait_for_selector('[data-tile="messages"][data-value="7"]', timeout=15000)
        check(not page.is_visible("#token"), "375 px: the reload kept the token (no prompt)")
        messages = chart_values(page, "messages-per-day")
        check(messages.get(today) == 7, f"375 px: messages per day after two more: {messages.get(today)}")
        layout(page, 375)
        calls = chart_values(page, "llm-calls")
        check(calls == {"openai/gpt-4o-mini": 3, "anthropic/claude-3-haiku": 2}, f"375 px: LLM calls by model {calls}")
        events = chart_values(page, "event-types")
        check(events == {"search.query": 5, "page.view": 3, "export.csv": 1}, f"375 px: busiest event types {events}")
        page.screenshot(path=f"{SHOTS}/dashboard-375.png", full_page=True)
        check(not problems, f"seeded dashboard: no console errors {problems}")
        context.close()

        # 6. AUTH_MODE=none (a second server on the same database): a user id instead of a token.
        none_url = os.environ.get("DASHBOARD_NONE_URL")
        if none_url:
            context, page, problems = new_page(browser, 1280)
            page.goto(none_url + "/dashboard")
            page.wait_for_selector("#user", state="visible", timeout=10000)
            check(not page.is_visible("#token"), "none mode: a user id field, no token field")
            page.fill("#user", "ops")
            page.click("#auth button[type=submit]")
            page.wait_for_selector('[data-tile="messages"][data-value="7"]', timeout=15000)
            calls = chart_values(page, "llm-calls")
            check(calls == {"openai/gpt-4o-mini": 3, "anthropic/claude-3-haiku": 2}, f"none mode: LLM calls by model {calls}")
            check(not problems, f"none mode: no console errors {problems}")
            context.close()
        browser.close()

    if failures:
        print(f"dashboard_test: {len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print(f"dashboard_test: all checks passed; screenshots in {SHOTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
