"""A Twisted TCP server on the asyncio reactor whose connections are the web
process's `TurnFlushedServer` (realtime/daphne_server.py), for
test_turn_flushed_writes.py.

    python tests/integration/turn_flush_probe.py CHUNKS CHUNK_BYTES

Prints `port N`; writes CHUNKS chunks to the first client that connects
(chunk i is the byte `i % 251` repeated), then `loseConnection()`; when the
connection is gone prints one JSON line (how often the socket was registered
for writability, and how the connection ended) and exits."""

import json
import sys

import daphne.server  # noqa: F401  (installs the asyncio reactor, as the web process does)
from twisted.internet import protocol, reactor

from realtime.daphne_server import TurnFlushedServer

CHUNKS, CHUNK_BYTES = int(sys.argv[1]), int(sys.argv[2])
counts = {"writable_registrations": 0}
register = reactor.addWriter


def counted_register(writer):
    counts["writable_registrations"] += 1
    return register(writer)


reactor.addWriter = counted_register


class Writer(protocol.Protocol):
    def connectionMade(self):
        for i in range(CHUNKS):
            self.transport.write(bytes([i % 251]) * CHUNK_BYTES)
        self.transport.loseConnection()

    def connectionLost(self, reason):
        print(json.dumps({**counts, "ended": reason.type.__name__}), flush=True)
        reactor.callLater(0, reactor.stop)


factory = protocol.Factory.forProtocol(Writer)
port = reactor.listenTCP(0, factory, interface="127.0.0.1")
port.transport = TurnFlushedServer
print(f"port {port.getHost().port}", flush=True)
reactor.run()
