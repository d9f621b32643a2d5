"""Pauses in long loops, so that one piece of work does not hold a whole service up.

The nameko services run on eventlet: green threads take turns on one OS thread, switching only
where one waits (on the broker, a socket, a sleep). A loop over hundreds of events runs to its
end before another green thread gets a turn, so an RPC answer another service is waiting for
(tracking asks registry for the projects' states before each batch) waits behind it. A loop
that calls `let_others_run` every so often gives the others their turn. In a threaded process
(the gateway, tests) it lets other threads have the GIL; either way it costs about a syscall.
"""

from __future__ import annotations

import time

PAUSE_EVERY = 100  # items of a loop (events, reports, aggregates) between pauses


def let_others_run() -> None:
    time.sleep(0)  # eventlet's monkey-patching makes it a switch to the other green threads
