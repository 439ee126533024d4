"""Model-as-judge for groundedness, and a simulated customer, both on the operator's provider.

The judge sees only the model's redacted draft and the passages the model was given, never
restored personal data. Both run only when the operator passed a real provider's key.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence

from agent.llm.base import Provider
from agent.llm.types import AssistantMessage, CallSettings, Message, SystemMessage, UserMessage
from evals.scenarios import UserSimulator
from evals.scorers import Check

JUDGE_PROMPT = """\
You check a receptionist's reply against the knowledge passages it was given.
A reply is grounded when every fact in it (prices, times, services, policies) is stated in
the passages or is a greeting, a clarifying question or an offer to pass to a person.
Placeholders like <PERSON_1> stand for the customer's data and are fine.
Answer with JSON only: {"grounded": true|false, "unsupported": ["claim", ...], "reason": "..."}"""

_JSON = re.compile(r"\{.*\}", re.DOTALL)


def parse_verdict(text: str) -> tuple[bool | None, str]:
    """(grounded, reason) from the judge's answer; ``None`` when it is not the JSON asked for."""
    match = _JSON.search(text)
    if match is None:
        return None, "the judge did not answer with JSON"
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError:
        return None, "the judge answered with invalid JSON"
    grounded = data.get("grounded") if isinstance(data, dict) else None
    if not isinstance(grounded, bool):
        return None, "the judge's JSON has no boolean 'grounded'"
    unsupported = data.get("unsupported") or []
    reason = str(data.get("reason") or "")
    if unsupported and isinstance(unsupported, list):
        reason = (reason + " Unsupported: " + "; ".join(str(u) for u in unsupported)).strip()
    return grounded, reason[:300]


async def judge_grounded(provider: Provider, draft: str, passages: Sequence[str]) -> Check:
    """Ask ``provider`` whether ``draft`` is supported by ``passages``."""
    context = "\n\n".join(f"[{i}] {p}" for i, p in enumerate(passages, 1)) or "(no passages)"
    messages: list[Message] = [
        SystemMessage(text=JUDGE_PROMPT),
        UserMessage(text=f"Passages:\n{context}\n\nReply:\n{draft}"),
    ]
    completion = await provider.complete(messages, (), CallSettings(max_tokens=300, temperature=0))
    grounded, reason = parse_verdict(completion.text)
    if grounded is None:
        return Check("judge: grounded in the passages", False, reason)
    return Check("judge: grounded in the passages", grounded, reason)


def judge(provider: Provider, draft: str, passages: Sequence[str]) -> Check:
    """Synchronous :func:`judge_grounded` (closes the provider afterwards)."""

    async def run() -> Check:
        try:
            return await judge_grounded(provider, draft, passages)
        finally:
            await provider.aclose()

    return asyncio.run(run())


USER_PROMPT = """\
You play a customer writing to a business on WhatsApp: {persona}. Your goal: {goal}
Write only your next message, short, in {language}. Use invented details only.
When the goal is reached, or the business passed you to a person, write exactly DONE."""

LANGUAGES = {"es": "Spanish", "pt": "Portuguese", "de": "German", "en": "English"}


async def next_customer_message(
    provider: Provider, spec: UserSimulator, transcript: Sequence[tuple[str, str]]
) -> str | None:
    """The simulated customer's next message, or ``None`` when it is done.

    ``transcript`` holds (customer, business) pairs so far; roles are swapped for the model.
    """
    prompt = USER_PROMPT.format(persona=spec.persona, goal=spec.goal, language=LANGUAGES[spec.language])
    messages: list[Message] = [SystemMessage(text=prompt), UserMessage(text="(the chat opens)")]
    for customer, business in transcript:
        messages += [AssistantMessage(text=customer), UserMessage(text=business or "(no reply)")]
    completion = await provider.complete(messages, (), CallSettings(max_tokens=200, temperature=0.7))
    text = completion.text.strip()
    return None if not text or text.upper().startswith("DONE") else text
