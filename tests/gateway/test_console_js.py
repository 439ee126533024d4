"""The console's JavaScript in a real browser, with its server replaced by the test: the page's
``fetch`` and ``EventSource`` are fakes the test answers by hand, so races are deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "gateway" / "console" / "static" / "console.js"
ORIGIN = "http://console.test"
PAGE = """<!doctype html><html lang="es"><head><title>Lucía</title></head>
<body data-page="conversation" data-conversation="7">
<div id="live" data-src="/console/c/7/live"><div class="live-body" data-composer="bot">v0</div></div>
<script src="/console/static/console.js"></script></body></html>"""

# A fetch that waits until the test answers it, and an EventSource the test fires.
FAKES = """
window.__fetches = [];
window.fetch = function (url) {
  return new Promise(function (resolve) { window.__fetches.push({ url: url, resolve: resolve }); });
};
window.__answer = function (i, body) {
  window.__fetches[i].resolve(new Response(body, { status: 200 }));
};
window.EventSource = function () {
  var listeners = {};
  window.__fire = function (data) { (listeners.conversation || []).forEach(function (f) { f({ data: JSON.stringify(data) }); }); };
  this.addEventListener = function (name, f) { (listeners[name] = listeners[name] || []).push(f); };
};
"""


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(FAKES)
    page.route(f"{ORIGIN}/console/c/7", lambda route: route.fulfill(body=PAGE, content_type="text/html"))
    page.route(
        f"{ORIGIN}/console/static/console.js",
        lambda route: route.fulfill(body=SCRIPT.read_text(), content_type="text/javascript"),
    )
    page.goto(f"{ORIGIN}/console/c/7")
    yield page
    context.close()


def fragment(text: str) -> str:
    return f'<div class="live-body" data-composer="bot">{text}</div>'


def test_an_event_during_a_refresh_is_shown_after_it(page: Any) -> None:
    from playwright.sync_api import expect

    page.evaluate("window.__fire({conversation_id: 7, kind: 'message'})")  # the customer's message
    page.wait_for_function("window.__fetches.length === 1")
    page.evaluate("window.__fire({conversation_id: 7, kind: 'reply'})")  # the bot's reply, mid-refresh
    page.evaluate(f"window.__answer(0, {fragment('customer')!r})")
    expect(page.locator("#live")).to_contain_text("customer")

    page.wait_for_function("window.__fetches.length === 2")  # the reply asks for one more refresh
    page.evaluate(f"window.__answer(1, {fragment('customer, then the reply')!r})")
    expect(page.locator("#live")).to_contain_text("then the reply")


def test_events_of_other_conversations_do_not_refresh_this_one(page: Any) -> None:
    page.evaluate("window.__fire({conversation_id: 8, kind: 'reply'})")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__fetches.length") == 0
