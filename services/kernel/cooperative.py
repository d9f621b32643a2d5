"""Taking turns under eventlet, so that one piece of work does not hold a whole service up.

The nameko services run on eventlet: green threads take turns on one OS thread, switching only
where one waits (on the broker, a socket, a sleep). Two things would stop the others:

- A loop over hundreds of events runs to its end before another green thread gets a turn, so
  an RPC answer another service is waiting for waits behind it. A loop that calls
  `let_others_run` every so often gives the others their turn. In a threaded process (the
  gateway, tests) it lets other threads have the GIL; either way it costs about a syscall.
- psycopg waits on PostgreSQL in C (`wait_c`) unless it sees gevent's patching; eventlet's it
  does not see. Then every query holds up every green thread of the service until it returns:
  the sealer's checkpoint holds up an RPC answer, a slow query the broker's heartbeats.
  `cooperative_database_waits` has it wait through eventlet's green `select` instead.
"""

from __future__ import annotations

import time

PAUSE_EVERY = 100  # items of a loop (events, reports, aggregates) between pauses


def let_others_run() -> None:
    time.sleep(0)  # eventlet's monkey-patching makes it a switch to the other green threads


def cooperative_database_waits() -> None:
    """Under eventlet's patching, psycopg waits for PostgreSQL by a green select; elsewhere
    (the gateway's threads, tools) nothing changes. Called before a service opens its store."""
    import eventlet.patcher
    from psycopg import waiting

    if eventlet.patcher.is_monkey_patched("select"):
        waiting.wait = waiting.wait_select
