"""A nameko service whose consumer fails on every message, as a bug or a broken dependency
would make a service fail (run by tests/integration/test_dead_letters.py with `nameko run`)."""

from __future__ import annotations

from services.kernel.bus.queues import consumer_queue
from services.kernel.process.nameko_support import consume


class Failing:
    name = "failing"

    @consume(consumer_queue("failing", "registry"), requeue_on_error=True)
    def on_registry(self, body: dict) -> None:
        raise ValueError(f"项目 {body['first']} 无法处理 / cannot apply {body['first']}")
