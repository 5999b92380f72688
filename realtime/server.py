"""The web process: daphne, with a WebSocket that always ends in a close frame.

Run as `python -m realtime.server <daphne's own arguments>` (Procfile,
docker/web/start, the test suites). Two things differ from plain daphne
4.2.3, both so that a client learns why it was closed (docs/realtime.md
"Close codes"):

- The `reason` of the application's `websocket.close` is sent in the close
  frame; daphne drops it.
- A message above `--websocket-max-message-size` is answered with the same
  close frame the consumer sends for one (4013, "frame over N bytes").
  autobahn's default (`failByDrop`) drops the TCP connection instead, so the
  client saw 1006 and no reason. The rest of the oversize frame is read and
  discarded, never buffered, and autobahn still drops the connection if the
  client does not answer the close within its close-handshake timeout.
"""

import sys
from typing import Any

import daphne.server
from daphne.cli import CommandLineInterface
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol

from realtime.close_codes import CLOSE_TOO_BIG, too_big_reason


class StreamProtocol(WebSocketProtocol):
    def handle_reply(self, message: dict[str, Any]) -> None:
        if message.get("type") == "websocket.close" and self.state != self.STATE_CONNECTING:
            self.sendClose(code=message.get("code") or 1000, reason=message.get("reason") or None)
            return
        super().handle_reply(message)

    def _max_message_size_exceeded(self, msg_size: int, max_msg_size: int, reason: str) -> None:
        # autobahn's hook for a frame or message over the limit; its default
        # is a 1009 that failByDrop turns into a bare TCP drop.
        self._fail_connection(CLOSE_TOO_BIG, too_big_reason(max_msg_size))


class StreamFactory(WebSocketFactory):
    protocol = StreamProtocol

    def setProtocolOptions(self, *args: Any, **kwargs: Any) -> None:
        # failByDrop=False: failing a connection sends a close frame first.
        super().setProtocolOptions(*args, **{**kwargs, "failByDrop": False})


def main(argv: list[str]) -> None:
    # daphne's Server builds its WebSocket factory inside run() from this
    # module-level name, and offers no other hook for the factory class.
    daphne.server.WebSocketFactory = StreamFactory  # type: ignore[misc]
    CommandLineInterface().run(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
