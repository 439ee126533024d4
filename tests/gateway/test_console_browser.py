"""The console in a real browser (Debian's Chromium through Playwright) on the real stack:
two ``frontdesk serve`` processes and a ``frontdesk worker`` on PostgreSQL and Redis, the
receptionist graph (extractive provider), and the fake Cloud API.

Only the accessible names a new agent relies on are used: "API token", "Sign in", the
customer's name as a link, "Handoff summary", "Take over", "Reply", "Send", "Hand back".
Screenshots go to ``out/console/``. Without Chromium the module skips (fails in CI).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.fake_cloud_api import FakeCloudApi
from store.models import Conversation
from store.repo import tenants, users
from tests.frontdesk.live import Live, on_postgres

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "out" / "console"
KB = ROOT / "tests" / "data" / "kb_clinica_es"
PHONE_NUMBER_ID = "100000000000117"
CUSTOMER = ("34611000117", "Lucía Fernández")
LIVE = 30_000  # ms: what "appears without a reload" may take, worker turn included
STARTUP = 300  # s: a worker loads spaCy, slow on a busy machine


@dataclass
class Stack(Live):
    """The live deployment, the agents' API tokens, and the one customer who writes."""

    tokens: dict[str, str] = field(default_factory=dict[str, str])

    def say(self, text_: str, gateway: int = 0) -> None:
        self.customer_says(CUSTOMER[0], text_, CUSTOMER[1], gateway)


def _setup(stack: Stack) -> None:
    clinic_id = stack.add_clinic("console-clinic", "Clínica Sonrisa", KB, settings={"default_language": "es"})
    with stack.database.admin_session() as session:
        stack.tokens["marta"] = users.create(session, clinic_id, "agent", "Marta").token.reveal()
        stack.tokens["pablo"] = users.create(session, clinic_id, "agent", "Pablo").token.reveal()
        stack.tokens["sara"] = users.create(session, clinic_id, "supervisor", "Sara").token.reveal()
        other = tenants.create(session, "console-other", "Otra Clínica")
        stack.tokens["outsider"] = users.create(session, other.id, "agent", "Olga").token.reveal()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str, redis_url: str
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("console")
    extra_env = {"FRONTDESK_WORKER_SWEEP_INTERVAL": "1"}
    with (
        FakeCloudApi() as cloud,
        on_postgres(
            Stack, tmp, cloud, postgres_admin_url, redis_url, extra_env, phone_number_id=PHONE_NUMBER_ID
        ) as running,
    ):
        _setup(running)
        running.worker(concurrency=4, timeout=STARTUP)
        running.serve("serve-a", timeout=STARTUP)
        running.serve("serve-b", timeout=STARTUP)  # a second gateway process: events must reach both
        yield running


def signed_in(browser: Any, gateway: str, token: str, **options: Any) -> Any:
    context = browser.new_context(
        locale="en-US", extra_http_headers={"Accept-Language": "en-US,en;q=0.9"}, **options
    )
    page = context.new_page()
    page.goto(f"{gateway}/console")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/inbox"))
    page.locator("#live-status.on").wait_for(timeout=LIVE)  # the event stream is open
    return page


def test_an_agent_takes_over_replies_and_hands_back_live(browser: Any, stack: Stack) -> None:
    from playwright.sync_api import expect

    OUT.mkdir(parents=True, exist_ok=True)
    a, b = stack.gateways
    marta = signed_in(browser, a, stack.tokens["marta"])
    pablo = signed_in(browser, b, stack.tokens["pablo"])  # on the other gateway process
    sara = signed_in(browser, b, stack.tokens["sara"])

    # A customer asks for a person: the conversation appears in both inboxes without a reload.
    stack.say("Hola. Quiero hablar con una persona, por favor")
    stack.wait_for_text("persona")  # the bot's handoff notice reached the customer
    for page in (marta, pablo):
        needs = page.locator("section.group-needs_human")
        expect(needs.get_by_role("link", name=CUSTOMER[1])).to_be_visible(timeout=LIVE)
    assert marta.title().startswith("(1)")  # the title badge counts the new handoff
    marta.screenshot(path=str(OUT / "inbox.png"), full_page=True)

    # Marta opens it and reads the summary.
    marta.get_by_role("link", name=CUSTOMER[1]).click()
    summary = marta.get_by_role("region", name="Handoff summary")
    expect(summary).to_contain_text("Customer wants: Hola. Quiero hablar con una persona")
    expect(summary).to_contain_text("Reason:")

    # She takes over: the second agent sees it leave their inbox, the supervisor sees who has it.
    marta.get_by_role("button", name="Take over").click()
    expect(marta.get_by_role("button", name="Hand back")).to_be_visible()
    expect(pablo.get_by_role("link", name=CUSTOMER[1])).to_have_count(0, timeout=LIVE)
    expect(sara.locator("section.group-others")).to_contain_text("Marta", timeout=LIVE)

    # She replies; the fake Cloud API receives the text.
    marta.get_by_label("Reply").fill("Hola Lucía, soy Marta. Te llamo en cinco minutos.")
    marta.get_by_role("button", name="Send").click()
    assert stack.wait_for_text("soy Marta").startswith("Hola Lucía")
    marta.screenshot(path=str(OUT / "conversation.png"), full_page=True)
    marta.set_viewport_size({"width": 390, "height": 844})
    marta.screenshot(path=str(OUT / "conversation-phone.png"), full_page=True)
    marta.set_viewport_size({"width": 1280, "height": 800})

    # She hands back; the bot answers the customer's next message (and her page shows it live).
    marta.get_by_role("button", name="Hand back").click()
    expect(marta.get_by_role("button", name="Take over")).to_be_visible()
    before = len(stack.texts())
    stack.say("¿Cuánto cuesta una limpieza dental?", gateway=1)
    answer = stack.wait_for_text("45 €")
    assert stack.texts().index(answer) >= before
    expect(marta.locator("ol.messages")).to_contain_text("45 €", timeout=LIVE)

    # A forged post (no valid CSRF token) from Marta's own signed-in browser is refused.
    cid = marta.url.rstrip("/").rsplit("/", 1)[1]
    forged = marta.context.request.post(f"{a}/console/c/{cid}/takeover", form={"csrf": "forged"})
    assert forged.status == 403
    with stack.database.tenant_session(_tenant_of(stack, int(cid))) as session:
        assert session.scalar(select(Conversation.mode).where(Conversation.id == int(cid))) == "bot"


def test_an_agent_of_another_tenant_sees_nothing(browser: Any, stack: Stack) -> None:
    outsider = signed_in(browser, stack.gateways[1], stack.tokens["outsider"])
    stack.say("Otra pregunta: ¿abrís el sábado?")
    time.sleep(2)  # events of the other tenant would have arrived by now
    assert CUSTOMER[1] not in outsider.content()
    cid = _any_conversation(stack)
    response = outsider.goto(f"{stack.gateways[1]}/console/c/{cid}")
    assert response is not None and response.status == 404
    assert CUSTOMER[1] not in outsider.content()


def test_a_page_whose_stream_opens_late_still_shows_what_happened(browser: Any, stack: Stack) -> None:
    """What changes between a page's rendering and its event stream opening (a slow network,
    a reconnect) is published to no one: the page reads itself again when the stream opens."""
    from playwright.sync_api import expect

    gateway = stack.gateways[0]
    stack.say("¿Cuánto cuesta un empaste?")  # the conversation exists (whichever test ran first)
    stack.wait_for_text("60 €")
    marta = signed_in(browser, gateway, stack.tokens["marta"])
    held: list[Any] = []
    marta.route("**/console/events", lambda route: held.append(route))  # the page's stream waits
    marta.goto(f"{gateway}/console/c/{_any_conversation(stack)}")
    while not held:
        marta.wait_for_timeout(50)
    stack.say("¿Cuánto cuesta un blanqueamiento?")
    stack.wait_for_text("250 €")  # the bot answered while the page could hear nothing
    thread = marta.locator("ol.messages")
    assert "250 €" not in (thread.text_content() or "")
    held[0].continue_()
    expect(thread).to_contain_text("¿Cuánto cuesta un blanqueamiento?", timeout=LIVE)
    expect(thread).to_contain_text("250 €", timeout=LIVE)
    expect(marta.locator("#live-status.on")).to_be_visible()


def _any_conversation(stack: Stack) -> int:
    with stack.database.admin_session() as session:
        found = session.scalar(select(Conversation.id))
    assert found is not None
    return int(found)


def _tenant_of(stack: Stack, conversation_id: int) -> int:
    with stack.database.admin_session() as session:
        tenant = session.scalar(select(Conversation.tenant_id).where(Conversation.id == conversation_id))
    assert tenant is not None
    return int(tenant)
