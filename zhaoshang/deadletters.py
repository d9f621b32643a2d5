"""`python -m zhaoshang.deadletters`: what the consumers gave up on, and putting it back.

    python -m zhaoshang.deadletters            # count the dead letters of every queue
    python -m zhaoshang.deadletters show       # each one: what it covers, what failed it, why
    python -m zhaoshang.deadletters replay     # once the cause is fixed: back onto their queues
    python -m zhaoshang.deadletters replay --queue scoring.registry

Replaying is safe however often it is done: consumers apply each upstream notification once,
and the gateway answers a report it already stored "duplicate".
"""

from __future__ import annotations

import argparse
import json
import os

from amqp.exceptions import ChannelError
from kombu import Queue

from services.kernel.bus import broker
from services.kernel.bus.queues import DEAD_SUFFIX, replay_dead_letters

QUEUES = (
    "registry.tracking",
    "scoring.registry",
    "scoring.tracking",
    "notify.scoring",
    "notify.tracking",
    "gateway.sources",
)


def dead_count(amqp_uri: str, queue_name: str) -> int | None:
    """How many dead letters wait in `<queue>.dead`; None if it was never declared."""
    with broker.connection(amqp_uri) as connection:
        try:
            declared = Queue(queue_name + DEAD_SUFFIX)(connection.channel())
            return declared.queue_declare(passive=True).message_count
        except ChannelError:
            return None


def show(amqp_uri: str, queue_name: str, limit: int = 50) -> list[str]:
    """A line per dead letter (at most `limit`), left in place: the upstream range it covers,
    the consumer that failed it, after how many tries, and the error."""
    lines: list[str] = []
    with broker.connection(amqp_uri) as connection:
        channel = connection.channel()
        dead = Queue(queue_name + DEAD_SUFFIX, no_declare=True)(channel)
        try:
            while len(lines) < limit and (letter := dead.get(no_ack=False)) is not None:
                lines.append(describe(letter))
        except ChannelError:
            return []
        finally:
            channel.close()  # unacknowledged: every letter goes back where it was
    return lines


def describe(letter) -> str:
    headers = letter.headers or {}
    try:
        body = json.loads(letter.body)
        covers = f"{body['service']} {body['first']}..{body['last']}"
    except (ValueError, KeyError, TypeError):
        covers = f"{len(letter.body)} bytes"
    reason = headers.get("x-error") or "; ".join(
        str(death.get("reason")) for death in headers.get("x-death") or ()
    )
    by = headers.get("x-failed-by", "?")
    return f"  {covers}: {by}, {headers.get('x-tries', '?')} 次 / tries: {reason}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zhaoshang.deadletters", description=__doc__)
    parser.add_argument("action", nargs="?", choices=("count", "show", "replay"), default="count")
    parser.add_argument("--queue", action="append", choices=QUEUES, help="default: all")
    args = parser.parse_args(argv)
    amqp_uri = os.environ.get("AMQP_URI", "amqp://guest:guest@localhost:5672/")
    for queue in args.queue or QUEUES:
        if args.action == "show":
            print(f"{queue}{DEAD_SUFFIX}:")
            print("\n".join(show(amqp_uri, queue)) or "  —")
        elif args.action == "replay":
            moved = replay_dead_letters(amqp_uri, queue) if dead_count(amqp_uri, queue) else 0
            print(f"{queue}: 重新投递 / replayed {moved}")
        else:
            count = dead_count(amqp_uri, queue)
            shown = "—" if count is None else count
            print(f"{queue}{DEAD_SUFFIX}: 死信 / dead letters {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
