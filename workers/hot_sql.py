"""The hottest writes of a turn as single PostgreSQL statements, straight through the driver.

Each SQLAlchemy execution cost ~70–100 µs of worker CPU and each statement a round trip; the
turn's commit was five statements after the pin and the first send's mark two. Here each is
one statement with data-modifying CTEs, sent as a prepared statement on the transaction's
own connection (pinned to the tenant like every other: row-level security applies). Every
write is conditional on the same checks as before: the CTEs read one snapshot, and each
write waits on ``held`` (the conversation's row lock taken with fence, epoch and mode).
"""

from __future__ import annotations

_HELD = """held AS (
  UPDATE conversations SET lease_fence = %(fence)s::bigint
  WHERE id = %(cid)s::bigint AND lease_fence = %(fence)s::bigint
    AND epoch = %(epoch)s::integer AND mode = 'bot'
  RETURNING id
)"""
_CONSUMED = """consumed AS (
  UPDATE messages SET turn_id = %(tid)s::varchar
  WHERE conversation_id = %(cid)s::bigint AND direction = 'in' AND turn_id IS NULL
    AND id = ANY(%(ids)s::bigint[]) AND EXISTS (SELECT FROM held)
  RETURNING id
)"""
_REPLY = """reply AS (
  INSERT INTO outbox (id, tenant_id, conversation_id, idempotency_key, epoch, author,
                      body_ciphertext, status, attempts, next_attempt_at, created_at, kind)
  SELECT %(oid)s::bigint, %(tenant_id)s::bigint, %(cid)s::bigint, %(key)s::varchar,
         %(epoch)s::integer, 'bot', %(body)s::varchar, %(status)s::varchar,
         %(attempts)s::integer, %(until)s::timestamptz, %(at)s::timestamptz, 'text'
  WHERE EXISTS (SELECT FROM held)
  RETURNING id
)"""
_CONSENT = """consent AS (
  INSERT INTO consent_events (id, tenant_id, contact_id, conversation_id, kind, source,
                              wording, language, at)
  SELECT %(consent_id)s::bigint, %(tenant_id)s::bigint, %(contact_id)s::bigint, %(cid)s::bigint,
         'disclosure', 'agent', %(wording)s::varchar, %(language)s::varchar, %(at)s::timestamptz
  WHERE EXISTS (SELECT FROM held)
)"""
_FINISHED = """finished AS (
  UPDATE turns SET status = 'replied', finished_at = %(at)s::timestamptz
  WHERE id = %(tid)s::varchar AND EXISTS (SELECT FROM held)
)"""
_COUNTS = """SELECT (SELECT count(*) FROM held), (SELECT count(*) FROM consumed),
  (SELECT count(*) FROM reply),
  EXISTS (SELECT FROM messages WHERE conversation_id = %(cid)s::bigint AND direction = 'in'
          AND turn_id IS NULL AND id <> ALL(%(ids)s::bigint[]))"""


def _commit_reply(disclosure: bool) -> str:
    parts = [_HELD, _CONSUMED, _REPLY, *([_CONSENT] if disclosure else []), _FINISHED]
    return "WITH " + ",\n".join(parts) + "\n" + _COUNTS


COMMIT_REPLY = {True: _commit_reply(True), False: _commit_reply(False)}
"""A bot turn's reply, committed (``workers.mailbox.commit_turn``'s usual case): the fenced
row lock, the turn's messages consumed, the reply in the outbox (maybe born claimed), the AI
disclosure recorded (the ``True`` statement), the turn finished. Answers (held, consumed,
replies, whether other messages are pending); pending ones the statement consumed are not
seen as consumed by its own snapshot, hence ``id <> ALL(ids)``."""

MARK_SENT = """WITH sent AS (
  UPDATE outbox SET status = 'sent', wa_message_id = %(wa_id)s::varchar,
                    sent_at = %(at)s::timestamptz, last_error = NULL
  WHERE id = %(oid)s::bigint AND status = 'sending'
)
INSERT INTO messages (id, tenant_id, conversation_id, direction, author, kind, body_ciphertext,
                      wa_message_id, status, status_at, created_at)
VALUES (%(id)s::bigint, %(tenant_id)s::bigint, %(cid)s::bigint, 'out', %(author)s::varchar,
        %(kind)s::varchar, %(body)s::varchar, %(wa_id)s::varchar, 'sent', %(at)s::timestamptz,
        %(at)s::timestamptz)"""
"""A sent item: the outbox row marked sent and the message kept, in one statement."""
