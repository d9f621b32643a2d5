"""`python -m services.deadletters`: what the consumers gave up on, and putting it back.

    python -m services.deadletters            # count the dead letters of every queue
    python -m services.deadletters replay     # once the cause is fixed: back onto their queues
    python -m services.deadletters replay --queue scoring.registry

Replaying is safe however often it is done: consumers apply each upstream notification once,
and the gateway answers a report it already stored "duplicate".
"""

from __future__ import annotations

import argparse
import os

from amqp.exceptions import ChannelError
from kombu import Connection, Queue

from services.common.queues import DEAD_SUFFIX, replay_dead_letters

QUEUES = (
    "registry.tracking",
    "scoring.registry",
    "scoring.tracking",
    "notify.scoring",
    "notify.tracking",
    "gateway.ingest",
)


def dead_count(amqp_uri: str, queue_name: str) -> int | None:
    """How many dead letters wait in `<queue>.dead`; None if it was never declared."""
    with Connection(amqp_uri) as connection:
        try:
            declared = Queue(queue_name + DEAD_SUFFIX)(connection.channel())
            return declared.queue_declare(passive=True).message_count
        except ChannelError:
            return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.deadletters", description=__doc__)
    parser.add_argument("action", nargs="?", choices=("count", "replay"), default="count")
    parser.add_argument("--queue", action="append", choices=QUEUES, help="default: all")
    args = parser.parse_args(argv)
    amqp_uri = os.environ.get("AMQP_URI", "amqp://guest:guest@localhost:5672/")
    for queue in args.queue or QUEUES:
        if args.action == "replay":
            moved = replay_dead_letters(amqp_uri, queue) if dead_count(amqp_uri, queue) else 0
            print(f"{queue}: 重新投递 / replayed {moved}")
        else:
            count = dead_count(amqp_uri, queue)
            shown = "—" if count is None else count
            print(f"{queue}{DEAD_SUFFIX}: 死信 / dead letters {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
