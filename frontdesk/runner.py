"""The workers' turn runner: a worker's turn, run through the receptionist graph."""

from __future__ import annotations

from agent.receptionist import Receptionist, TurnRequest
from agent.stages import stage
from store.repo import conversations
from workers.turns import OpenedTurn, TurnResult


class ReceptionistTurnRunner:
    """Adapts :class:`agent.receptionist.Receptionist` to :class:`workers.turns.TurnRunner`."""

    def __init__(self, receptionist: Receptionist) -> None:
        self.receptionist = receptionist

    def run_turn(self, turn: OpenedTurn) -> TurnResult:
        db = self.receptionist.db
        if turn.customer is not None:  # read with the turn
            customer, name = turn.customer.customer_id, turn.customer.profile_name
            human = list(turn.customer.human_messages)
        else:
            with stage("store reads"), db.tenant_connection(turn.tenant_id) as sql:
                customer, name = conversations.customer_of(sql, db.keyring, turn.conversation_id)
                human = conversations.human_replies_since_bot(sql, db.keyring, turn.conversation_id)
        output = self.receptionist.run(
            TurnRequest(
                turn.tenant_id,
                turn.conversation_id,
                turn.turn_id,
                list(turn.texts),
                customer_id=customer,
                profile_name=name,
                human_messages=human,
                settings_version=turn.settings_version,
                vault_items=turn.vault_items,
                knowledge_state=turn.knowledge_state,
            )
        )
        return TurnResult(
            reply=output.reply,
            handoff=output.handoff,
            handoff_summary=output.summary,
            citations=list(output.citations),
            disclosure=output.disclosure,
            language=output.language,
            error=output.error,
        )
