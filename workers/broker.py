"""kombu's Redis transport, with one redis-py client per channel instead of one per call.

kombu builds a new client for every publish, delivery and ack; building one costs about
60 µs (its table of response callbacks), and on a worker's single consumer thread that was
a fifth of the thread's time. A redis-py client is safe to share between threads (each
command takes a connection from the pool), so the channel keeps one.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
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
