"""``frontdesk chat``: an operator tries a tenant's receptionist from the terminal.

Each input line is one customer message, run through the same graph the workers run, in a
sandbox conversation of its own (nothing reaches WhatsApp or a live conversation). Lines
starting with ``/`` are operator commands: ``/human TEXT`` (a human agent's reply),
``/handback`` (return the conversation to the bot).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from agent.receptionist import Receptionist, TurnRequest
from store.db import Database
from store.identity import conversation_keyring
from store.models import Conversation, Message, utcnow
from store.repo import conversations, tenants
from store.sealed import seal
from workers.takeover import hand_back, take_over


@dataclass
class ChatSession:
    """One operator's conversation with one tenant's receptionist, in a sandbox.

    Each session has its own test contact and conversation (flagged ``test``): a live
    customer's conversation is never joined, whatever ``--from`` says, and no worker, sweeper
    or outbox sender ever picks a sandbox up. Nothing is sent to WhatsApp.
    """

    db: Database
    receptionist: Receptionist
    tenant_id: int
    conversation_id: int
    wa_id: str
    profile_name: str | None

    @classmethod
    def open(
        cls, db: Database, receptionist: Receptionist, slug: str, wa_id: str, profile_name: str | None
    ) -> ChatSession:
        with db.admin_session() as session:
            tenant_id = tenants.get_by_slug(session, slug).id
        with db.tenant_session(tenant_id) as session:
            conversation = conversations.open_sandbox(session, db.keyring, tenant_id, profile_name)
            return cls(db, receptionist, tenant_id, conversation.id, wa_id, profile_name)

    def _record(self, direction: str, author: str, text: str) -> int:
        """Store a sandbox message: a customer's is consumed at once (never pending in the
        mailbox), a reply is marked ``test`` (it was not sent)."""
        with self.db.tenant_session(self.tenant_id) as session:
            message = Message(
                tenant_id=self.tenant_id,
                conversation_id=self.conversation_id,
                direction=direction,
                author=author,
                status="received" if direction == "in" else "test",
            )
            if direction == "in":
                message.turn_id = f"chat-{self.conversation_id}-{message.id}"
            keyring = conversation_keyring(session, self.db.keyring, self.conversation_id)
            seal(keyring, message, "body_ciphertext", text)
            session.add(message)
            if author == "customer":
                conversation = session.get(Conversation, self.conversation_id)
                if conversation is not None:
                    conversation.last_customer_message_at = utcnow()
            return message.id

    def mode(self) -> str:
        with self.db.tenant_session(self.tenant_id) as session:
            conversation = session.get(Conversation, self.conversation_id)
            return conversation.mode if conversation else "bot"

    def _human_messages(self) -> list[str]:
        with self.db.tenant_session(self.tenant_id) as session:
            return conversations.human_replies_since_bot(session, self.db.keyring, self.conversation_id)

    def handle(self, line: str) -> dict[str, object]:
        """One input line in, one result out (the ``--json`` shape)."""
        if line.startswith("/handback"):
            hand_back(self.db, self.tenant_id, self.conversation_id, None)
            return {"reply": None, "handoff": False, "mode": "bot", "citations": []}
        if line.startswith("/human "):
            if self.mode() != "human":
                take_over(self.db, self.tenant_id, self.conversation_id, None)
            self._record("out", "agent", line.removeprefix("/human ").strip())
            return {"reply": None, "handoff": False, "mode": "human", "citations": []}
        message_id = self._record("in", "customer", line)
        if self.mode() == "human":
            return {"reply": None, "handoff": False, "mode": "human", "citations": []}
        output = self.receptionist.run(
            TurnRequest(
                self.tenant_id,
                self.conversation_id,
                f"chat-{self.conversation_id}-{message_id}",
                [line],
                customer_id=f"test:{self.wa_id}",
                profile_name=self.profile_name,
                human_messages=self._human_messages(),
            )
        )
        if output.reply:
            self._record("out", "bot", output.reply)
        if output.handoff:
            take_over(self.db, self.tenant_id, self.conversation_id, None)
        return {
            "reply": output.reply,
            "handoff": output.handoff,
            "mode": "human" if output.handoff else "bot",
            "citations": output.citations,
        }


def _lines(stdin: TextIO, interactive: bool) -> Iterator[str]:
    while True:
        if interactive:
            sys.stderr.write("customer> ")
            sys.stderr.flush()
        line = stdin.readline()
        if not line:
            return
        if line.strip():
            yield line.strip()


def run_chat(chat: ChatSession, stdin: TextIO, stdout: TextIO, *, as_json: bool) -> None:
    """Read customer lines, print the bot's replies."""
    interactive = stdin.isatty() and not as_json
    if interactive:
        sys.stderr.write(f"[test conversation {chat.conversation_id}: nothing is sent to WhatsApp]\n")
    for line in _lines(stdin, interactive):
        result = chat.handle(line)
        if as_json:
            stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        elif result["reply"] is not None:
            stdout.write(f"bot> {result['reply']}\n")
            if result["citations"]:
                stdout.write(f"     (sources: {'; '.join(map(str, result['citations']))})\n")  # pyright: ignore[reportArgumentType]
        else:
            stdout.write(f"[the conversation is {result['mode']}'s; the bot stays quiet]\n")
        if result["handoff"]:
            stdout.write(
                "" if as_json else "[handed to a human: type /human TEXT to answer, /handback to return]\n"
            )
        stdout.flush()
