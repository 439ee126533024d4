"""The receptionist's nodes: small functions returning partial state updates.

redact → triage → retrieve → respond ⇄ tools → guard → END, or → handoff → await_human
(the graph runs all six as its one ``turn`` node: ``intake``, the first three, then ``answer``).
Only redacted text enters the state; restored text goes to the run's ``TurnOutput``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agent.graphs.receptionist.context import Context
from agent.graphs.receptionist.prompts import leaks_prompt, system_prompt
from agent.graphs.receptionist.state import State
from agent.llm.types import (
    AssistantMessage,
    CallSettings,
    ContextMessage,
    ContextPassage,
    Message,
    MessagesAdapter,
    SystemMessage,
    ToolCall,
    UserMessage,
)
from agent.redaction.redactor import RedactionContext
from agent.redaction.rules import compile_rules
from agent.redaction.vault import PLACEHOLDER_RE, ConversationKey
from agent.tools import TOOLS, run_tool
from agent.tools.hours import back_at, is_closed
from agent.triage import triage as triage_rules
from errors import InvalidKeyError, ProviderError, RateLimitedError, RetryLater
from knowledge.injection import looks_like_injection, requests_payment_data
from textnorm import conversation_language, detect_language, fold

MAX_TOOL_ROUNDS = 3
HISTORY_MESSAGES = 12
WHATSAPP_LIMIT = 4096
RETRY_DEFER = 10.0
"""Seconds before a turn the provider failed (no Retry-After) runs again."""


def _conversation(ctx: Context) -> ConversationKey:
    return ConversationKey(ctx.tenant_id, ctx.conversation_id)


def _dump(messages: list[Message]) -> list[dict[str, Any]]:
    return MessagesAdapter.dump_python(messages, mode="json")


def _load(messages: list[dict[str, Any]]) -> list[Message]:
    return MessagesAdapter.validate_python(messages)


# --- redact and triage ---------------------------------------------------------------------


def redact(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Redact the turn's messages; start the turn's fresh fields."""
    ctx = runtime.context
    with ctx.trace.span("redact", as_type="guardrail") as span:
        redaction = RedactionContext(
            conversation=_conversation(ctx),
            known_names=ctx.known_names,
            business_words=ctx.business_words,
            rules=compile_rules(ctx.profile.redaction),
        )
        redacted = [ctx.redactor.redact(text, redaction) for text in ctx.incoming]
        turn_text = "\n".join(r.text for r in redacted)
        language = conversation_language(
            PLACEHOLDER_RE.sub(" ", turn_text), state.get("language"), ctx.profile.default_language
        )
        span.update(output={"text": turn_text, "entities": sum(len(r.entities) for r in redacted)})
    ctx.output.language = language
    return {
        "turn_text": turn_text,
        "language": language,
        "passages": [],
        "scratch": [],
        "tool_rounds": 0,
        "handoff_reason": None,
        "handoff_rule": None,
        "reply": None,
        "citations": [],
        "handoff": False,
    }


def triage(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Rules first: an explicit ask for a person, tenant keywords, strong negativity.

    A customer message that tries to instruct the assistant is reported (``customer_injection``)
    and stays data: the model is told so, and the guard checks what comes back.
    """
    ctx = runtime.context
    turn_text = state.get("turn_text", "")
    with ctx.trace.span("triage", as_type="guardrail", input=turn_text) as span:
        verdict = triage_rules(turn_text, ctx.profile.handoff_keywords)
        injection = looks_like_injection(turn_text)
        span.update(output={"handoff": verdict.reason, "rule": verdict.rule, "injection": injection})
    if injection:
        ctx.alert("customer_injection", {"tenant_id": ctx.tenant_id, "conversation_id": ctx.conversation_id})
    return {"handoff_reason": verdict.reason, "handoff_rule": verdict.rule}


def route_after_triage(state: State) -> Literal["handoff", "retrieve"]:
    return "handoff" if state.get("handoff_reason") else "retrieve"


def route_after_intake(state: State) -> Literal["handoff", "answer"]:
    return "handoff" if route_after_triage(state) == "handoff" else "answer"


# --- retrieve, respond, tools --------------------------------------------------------------


def retrieve(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Search the tenant's own knowledge base with the redacted turn."""
    ctx = runtime.context
    with ctx.trace.span("retrieve", as_type="retriever", input={"query": state.get("turn_text", "")}) as span:
        passages = ctx.tools.search(PLACEHOLDER_RE.sub(" ", state.get("turn_text", "")), 3)
        span.update(output=[{"source": p.source, "heading": p.heading, "score": p.score} for p in passages])
    return {"passages": [p.model_dump(mode="json") for p in passages]}


def _model_messages(state: State, ctx: Context) -> list[Message]:
    history = _load(state.get("history", [])[-HISTORY_MESSAGES:])
    messages: list[Message] = [
        SystemMessage(text=system_prompt(ctx.profile, state.get("language", "en"))),
        *history,
    ]
    passages = [ContextPassage.model_validate(p) for p in state.get("passages", [])]
    if passages:
        messages.append(ContextMessage(passages=passages))
    messages.append(UserMessage(text=state.get("turn_text", "")))
    return messages + _load(state.get("scratch", []))


async def respond(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the tenant's model, offering the tools. A provider that still fails after its retries
    asks the worker to run the turn later (:class:`RetryLater`); a refused key or request hands off."""
    ctx = runtime.context
    messages = _model_messages(state, ctx)
    try:
        settings = CallSettings(max_tokens=600, language=state.get("language"))
        completion = await ctx.provider.complete(messages, TOOLS, settings)
    except InvalidKeyError as exc:
        ctx.alert("invalid_key", {"tenant_id": ctx.tenant_id, "provider": type(ctx.provider).__name__})
        ctx.output.error = exc.describe()
        return {"handoff_reason": "the model provider rejected the tenant's key", "handoff_rule": "provider"}
    except ProviderError as exc:
        ctx.alert("provider_failed", {"tenant_id": ctx.tenant_id, "error": type(exc).__name__})
        ctx.output.error = exc.describe()
        if exc.retryable:  # 429, 5xx, timeouts past the in-call retries: the worker reschedules
            defer = exc.retry_after if isinstance(exc, RateLimitedError) else None
            raise RetryLater(defer if defer is not None else RETRY_DEFER, reason=exc.describe()) from None
        return {"handoff_reason": "the model provider refused the request", "handoff_rule": "provider"}
    ctx.output.model_calls += 1
    ctx.trace.generation(
        "respond",
        model=completion.model,
        input=[m.model_dump(mode="json") for m in messages],
        output=completion.model_dump(mode="json", include={"text", "tool_calls", "stop_reason"}),
        usage={"input": completion.usage.input_tokens, "output": completion.usage.output_tokens},
        cost_usd=completion.cost_usd,
        metadata={"provider": completion.provider, "attempts": completion.attempts},
    )
    ctx.output.input_tokens += completion.usage.input_tokens
    ctx.output.output_tokens += completion.usage.output_tokens
    ctx.output.cost_usd += completion.cost_usd or 0.0
    citations = [c.source + (f" > {c.heading}" if c.heading else "") for c in completion.citations]
    scratch = state.get("scratch", []) + _dump([completion.as_message()])
    return {"scratch": scratch, "citations": citations or state.get("citations", [])}


def _last_assistant(state: State) -> AssistantMessage | None:
    for message in reversed(state.get("scratch", [])):
        if message.get("kind") == "assistant":  # the one message read, validated alone
            return AssistantMessage.model_validate(message)
    return None


def route_after_respond(state: State) -> Literal["tools", "guard", "handoff"]:
    if state.get("handoff_reason"):
        return "handoff"
    last = _last_assistant(state)
    if last is not None and last.tool_calls and state.get("tool_rounds", 0) < MAX_TOOL_ROUNDS:
        return "tools"
    return "guard"


def tools(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run the model's tool calls for this tenant only."""
    ctx = runtime.context
    last = _last_assistant(state)
    calls: list[ToolCall] = last.tool_calls if last else []
    results: list[Message] = []
    handoff_reason: str | None = None
    passages = list(state.get("passages", []))
    for call in calls:
        with ctx.trace.span(f"tool:{call.name}", as_type="tool", input=call.arguments) as span:
            outcome = run_tool(call, ctx.tools, state.get("language", "en"))
            span.update(output=outcome.message.content)
        results.append(outcome.message)
        passages += [p.model_dump(mode="json") for p in outcome.message.passages]
        handoff_reason = handoff_reason or outcome.handoff_reason
    update: dict[str, Any] = {
        "scratch": state.get("scratch", []) + _dump(results),
        "tool_rounds": state.get("tool_rounds", 0) + 1,
        "passages": passages,
    }
    if handoff_reason:
        update.update(handoff_reason=handoff_reason, handoff_rule="model")
    return update


def route_after_tools(state: State) -> Literal["respond", "handoff"]:
    return "handoff" if state.get("handoff_reason") else "respond"


# --- guard -----------------------------------------------------------------------------------


def _trim(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "), cut.rfind("\n"))
    return (cut[: end + 1] if end > limit // 2 else cut.rstrip() + "…").strip()


def guard(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Check the model's reply, restore the conversation's values, add the AI disclosure."""
    ctx = runtime.context
    last = _last_assistant(state)
    draft = (last.text if last else "").strip()
    language = state.get("language", "en")
    blocked: list[str] = []
    if not draft:
        blocked.append("empty reply")
    if draft and leaks_prompt(draft, system_prompt(ctx.profile, language)):
        blocked.append("reply quotes the system prompt")
    if draft and requests_payment_data(draft):
        blocked.append("reply asks for payment data")
    known = {item.placeholder.upper() for item in ctx.redactor.vault.items(_conversation(ctx))}
    foreign = [m.group(0) for m in PLACEHOLDER_RE.finditer(draft) if _normal(m) not in known]
    if foreign:
        blocked.append("reply names data this conversation does not have")
    with ctx.trace.span("guard", as_type="guardrail", input=draft) as span:
        reply = (
            ctx.profile.wording("fallback", language)
            if blocked
            else _trim(draft, ctx.profile.max_reply_chars)
        )
        span.update(output={"blocked": blocked, "reply": reply})
    hit = bool(state.get("passages")) or any(
        m.get("name") == "business_hours" for m in state.get("scratch", [])
    )
    misses = 0 if hit else state.get("misses", 0) + 1
    if misses >= ctx.profile.max_misses and not blocked:
        return {"misses": misses, "handoff_reason": "repeated failure to answer", "handoff_rule": "misses"}
    if not state.get("disclosed"):
        ctx.output.disclosure = ctx.profile.wording("disclosure", language)
        reply = ctx.output.disclosure + "\n\n" + reply
    reply = _trim(reply, WHATSAPP_LIMIT)
    ctx.output.reply = ctx.redactor.restore(reply, _conversation(ctx)).text
    ctx.output.citations = list(state.get("citations", [])) or _sources(state, draft)
    ctx.output.reply_language = detect_language(reply, ctx.profile.default_language)
    ctx.output.blocked = blocked
    return {
        "reply": reply,
        "disclosed": True,
        "misses": misses,
        "history": _dump([UserMessage(text=state.get("turn_text", "")), AssistantMessage(text=reply)]),
    }


_CONTENT = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]{4,}")


def _content(text: str) -> set[str]:
    return {fold(w) for w in _CONTENT.findall(text)}


@lru_cache(maxsize=512)
def _passage_content(text: str) -> frozenset[str]:
    """The same knowledge passages come back turn after turn; keyed by the text itself."""
    return frozenset(_content(text))


def _sources(state: State, reply: str) -> list[str]:
    """The passages the reply drew on (two shared content words or a shared number)."""
    said = _content(reply)
    seen: dict[str, None] = {}
    for p in state.get("passages", []):
        shared = said & _passage_content(str(p.get("text", "")))
        if len(shared) >= 2 or any(w[0].isdigit() for w in shared):
            seen[p.get("source", "") + (f" > {p['heading']}" if p.get("heading") else "")] = None
    return [s for s in seen if s]


def _normal(match: Any) -> str:
    return f"<{match.group(1).upper()}_{int(match.group(2))}>"


def route_after_guard(state: State) -> Literal["handoff", "__end__"]:
    return "handoff" if state.get("handoff_reason") and not state.get("reply") else "__end__"


def route_after_answer(state: State) -> Literal["handoff", "__end__"]:
    """After respond ⇄ tools → guard (one node of the graph): a handoff any of them asked for
    and no approved reply."""
    return route_after_guard(state)


# --- handoff -------------------------------------------------------------------------------


def handoff(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Write the human's summary and the customer's handoff message (sent by the caller)."""
    ctx = runtime.context
    language = state.get("language", "en")
    reason = state.get("handoff_reason") or "handoff"
    message = _handoff_message(ctx, language)
    if not state.get("disclosed"):
        ctx.output.disclosure = ctx.profile.wording("disclosure", language)
        message = ctx.output.disclosure + "\n\n" + message
    summary = handoff_summary(reason, language, _load(state.get("history", [])), state.get("turn_text", ""))
    with ctx.trace.span(
        "handoff", as_type="span", input={"reason": reason, "rule": state.get("handoff_rule")}
    ):
        pass
    conversation = _conversation(ctx)
    ctx.output.handoff = True
    ctx.output.handoff_reason = reason
    ctx.output.summary = ctx.redactor.restore(summary, conversation).text
    ctx.output.reply = ctx.redactor.restore(message, conversation).text
    return {
        "handoff": True,
        "reply": message,
        "disclosed": True,
        "misses": 0,
        "handoff_at": datetime.now(UTC).isoformat(),
        "history": _dump([UserMessage(text=state.get("turn_text", "")), AssistantMessage(text=message)]),
    }


def _handoff_message(ctx: Context, language: str) -> str:
    """The handoff wording; outside opening hours it says when the team is back."""
    now = ctx.tools.now()
    when = back_at(ctx.profile, now, language) if is_closed(ctx.profile, now) else None
    if when is None:
        return ctx.profile.wording("handoff", language)
    return ctx.profile.wording("handoff_closed", language).replace("{when}", when)


SUMMARY_CHARS = 160


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SUMMARY_CHARS else flat[: SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"


def handoff_summary(reason: str, language: str, history: list[Message], turn_text: str) -> str:
    """What a person reads in five seconds (redacted here, restored by the caller): why, what
    the customer wants, the facts they gave, and what the bot already told them."""
    asked = [getattr(m, "text", "") for m in history if m.kind == "user"] + [turn_text]
    asked = [a for a in asked if a.strip()]
    said = [text for m in history if m.kind == "assistant" and (text := getattr(m, "text", "")).strip()]
    facts: dict[str, str] = {}
    for text in asked:
        for match in PLACEHOLDER_RE.finditer(text):
            facts.setdefault(_normal(match), match.group(1).lower().replace("_", " "))
    lines = [f"Reason: {reason}."]
    lines.append(f"Customer wants: {_clip(asked[-1]) if asked else '(nothing written)'}")
    if len(asked) > 1:
        lines.append(f"Before that: {_clip(asked[-2])}")
    given = "; ".join(f"{kind} {placeholder}" for placeholder, kind in facts.items())
    lines.append(f"Facts given: {given or 'none'}")
    lines.append(f"Bot already said: {_clip(said[-1]) if said else 'nothing yet'}")
    lines.append(f"Language: {language}")
    return "\n".join(lines)


def await_human(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Pause until a human hands the conversation back (no side effect before ``interrupt``)."""
    handback: Any = interrupt({"reason": state.get("handoff_reason"), "handoff_at": state.get("handoff_at")})
    notes = handback.get("messages", []) if isinstance(handback, dict) else []
    history = [AssistantMessage(text=f"[human agent] {text}") for text in notes if isinstance(text, str)]
    return {"history": _dump(list(history)), "handoff": False, "handoff_reason": None, "misses": 0}
