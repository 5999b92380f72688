"""After-commit listeners of published events.

Other apps react to events (a push to a phone when a trade settles) without
realtime knowing them: an app registers a listener in its AppConfig.ready()
with `listener_register`, and `publish` / `publish_many` hand every event
they wrote to each listener once the transaction has committed. A rolled-back
transaction calls no listener, exactly as it sends nothing on the socket.

A listener gets the committed `Event` rows of one publish call (one for
`publish`, the whole batch for `publish_many`, so a listener can do one query
per settlement batch). It runs in the committing thread, after the socket
send was handed over: it must be quick (enqueue work, never do it) and it
must not raise. If it does, the error is logged and the other listeners
still run; the events are committed and delivered on the socket regardless.
"""

import logging
from collections.abc import Callable, Sequence

from realtime.models import Event

logger = logging.getLogger(__name__)

Listener = Callable[[Sequence[Event]], None]

_listeners: list[Listener] = []


def listener_register(listener: Listener) -> None:
    """Call `listener(events)` after each commit that published events.
    Registering the same function twice registers it once (ready() may run
    more than once in tests)."""
    if listener not in _listeners:
        _listeners.append(listener)


def listener_unregister(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def listeners_active() -> bool:
    return bool(_listeners)


def listeners_notify(events: Sequence[Event]) -> None:
    """Run every listener on `events` (after commit); a failing one is logged."""
    for listener in list(_listeners):
        try:
            listener(events)
        except Exception:
            logger.exception("event listener %s failed", getattr(listener, "__qualname__", listener))
