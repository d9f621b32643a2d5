"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.gateway.amqp_ingest import AmqpIngest
from tests.notify_servers import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on loopback, keeping what it was sent."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def gateway(amqp_uri: str) -> Iterator[Any]:
    """Starts the AMQP ingest in this process (tries again without a pause); stopped after."""
    started: list[AmqpIngest] = []

    def start(ingestor: Any, **options: Any) -> AmqpIngest:
        ingest = AmqpIngest(amqp_uri, ingestor, retry_pause=0.0, **options)
        assert ingest.start(wait=30), "the AMQP ingest did not bind its queue"
        started.append(ingest)
        return ingest

    yield start
    for ingest in started:
        ingest.stop()
