"""The web process's policy for Python's cyclic garbage collector.

Why a policy at all: a web process holds many long-lived objects, a few
hundred per open socket (its Twisted transport, autobahn protocol, daphne
and channels state, its consumer and tasks). CPython's defaults (700, 10,
10; 2,000 for the first on 3.13) run a young collection every 700 net
allocations and a full one each time the survivors have grown by a
quarter; a full collection traverses every live object, the ones that
existed when the process started (Django, the URL resolvers, the app:
about 140,000) and every held socket's. A reconnect storm is nothing but new survivors, so it paid for
one full collection after another: 6 of them during 3,000 accepts,
a third of the process's CPU per accept (bench/ws_accept.py, measured with
`gc.callbacks`; docs/scaling.md, "Accepts").

The policy, applied once when the process starts serving:

- `gc.freeze()`: what exists then lives as long as the process, so it is
  moved out of the collector's sight once instead of traversed by every
  full collection.
- Young collections every 50,000 net allocations instead of 700; objects
  that survive two of them are old; a full collection after three
  collections of the middle generation (at least 600,000 net allocations)
  and, as before, only once the old generation has grown by a quarter.
  Garbage that lives long enough to be old (a closed socket's reference
  cycles) waits for that full collection: measured, a web process that
  opened and closed 32,000 sockets settled 62 MB above the defaults' RSS
  and stayed there.

`WEB_GC_THRESHOLDS` (config/settings/base.py) sets the three thresholds,
or "python" keeps CPython's own (bench/ws_accept.py runs the stream both
ways in one run).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass


@dataclass(frozen=True)
class Applied:
    frozen: int  # objects moved out of the collector's sight
    thresholds: tuple[int, int, int]  # the ones in force afterwards


def apply(thresholds: tuple[int, int, int] | None) -> Applied:
    """Freeze what exists now and set `thresholds` (None: keep CPython's,
    freeze nothing). Once per process, when it starts serving."""
    if thresholds is not None:
        # Garbage from start-up is collected first, not frozen for good.
        gc.collect()
        gc.freeze()
        gc.set_threshold(*thresholds)
    current = gc.get_threshold()
    return Applied(frozen=gc.get_freeze_count(), thresholds=(current[0], current[1], current[2]))
