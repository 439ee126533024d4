"""kombu's Redis transport, with one redis-py client per channel instead of one per call.

kombu builds a new client for every publish, delivery and ack; building one costs about
60 µs (its table of response callbacks), and on a worker's single consumer thread that was
a fifth of the thread's time. A redis-py client is safe to share between threads (each
command takes a connection from the pool), so the channel keeps one.

Every delivery is noted in the unacked index and hash, and every ack removes it, each as a
MULTI/EXEC transaction: here as a plain pipeline (the same two commands in one round trip,
without MULTI, EXEC and two QUEUED replies to parse). Nothing reads an entry younger than the
visibility timeout, so no reader can see one of the pair without the other.
"""

from __future__ import annotations

from time import time
from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.utils.json import dumps


class QoS(kombu_redis.QoS):
    def append(self, message: Any, delivery_tag: Any) -> None:
        delivery = message.delivery_info
        with self.channel.conn_or_acquire() as client:  # type: ignore[reportUnknownMemberType]
            pipe = client.pipeline(transaction=False)
            pipe.zadd(self.unacked_index_key, {delivery_tag: time()})
            pipe.hset(
                self.unacked_key,
                delivery_tag,
                dumps([message._raw, delivery["exchange"], delivery["routing_key"]]),
            )
            pipe.execute()
        super(kombu_redis.QoS, self).append(message, delivery_tag)  # the virtual QoS's own books

    def ack(self, delivery_tag: Any) -> None:
        with self.channel.conn_or_acquire() as client:  # type: ignore[reportUnknownMemberType]
            pipe = client.pipeline(transaction=False)
            pipe.zrem(self.unacked_index_key, delivery_tag)
            pipe.hdel(self.unacked_key, delivery_tag)
            pipe.execute()
        super(kombu_redis.QoS, self).ack(delivery_tag)


class Channel(kombu_redis.Channel):
    QoS = QoS
    _shared_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:  # the BRPOP client: kombu keeps that one already
            return super()._create_client(asynchronous=True)
        pool = self.pool
        client = self._shared_client
        if client is None or client.connection_pool is not pool:  # a closed channel drops its pool
            client = self._shared_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel


TRANSPORT = f"{__name__}:Transport"
