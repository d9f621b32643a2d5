"""Two notify replicas on one PostgreSQL store, delivering to a real SMTP server (aiosmtpd):
the timers run on one replica at a time (the lease), each replica sees what the other saved,
another takes over when the one running the timers stops, and nothing is sent twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from services.notify.application import NotifyApplication
from services.notify.domain import INTERRUPTED
from services.notify.retry import RetryPolicy
from services.notify.transports import SmtpTransport
from tests.integration.test_notify_delivery import Crash, CrashingTransport, smtp_settings
from tests.notify_servers import SmtpServer
from tests.notify_support import (
    FakeClock,
    make_app,
    make_ranking,
    no_gap,
    published,
    ranking_hash,
)

RETRY = RetryPolicy(max_attempts=5, first_delay=timedelta(minutes=1))


class Replicas:
    """notify replicas sharing one store, each with its own directory for circulars."""

    def __init__(self, env: dict[str, str], tmp_path: Path, smtp: SmtpServer) -> None:
        self.env = {**env, "POSTGRES_SCHEMA": "notify", "CREATE_TABLE": "y"}
        self.tmp_path = tmp_path
        self.clock = FakeClock()
        self.transport = SmtpTransport(smtp_settings(smtp))
        self.started: list[NotifyApplication] = []

    def start(self, name: str, transport=None) -> NotifyApplication:
        app = make_app(
            self.tmp_path / name,
            env=self.env,
            transports={"email": transport or self.transport},
            clock=self.clock,
            retry=RETRY,
        )
        self.started.append(app)
        return app

    def close(self) -> None:
        for app in self.started:
            app.close()


@pytest.fixture
def replicas(postgres_env, tmp_path, smtp) -> Iterator[Replicas]:
    from services.kernel.store.environment import ensure_postgres_schema

    made = Replicas(postgres_env, tmp_path, smtp)
    ensure_postgres_schema(made.env)
    yield made
    made.close()


def sent_once(smtp: SmtpServer) -> Counter:
    """Mails by Message-ID: a delivery's id, the same on a resend."""
    return Counter(m["Message-ID"] for m in smtp.messages)


def test_the_timers_run_on_one_replica_which_sends_what_the_other_issued(replicas, smtp):
    first, second = replicas.start("a"), replicas.start("b")
    third_quarter, fourth_quarter = make_ranking("2020Q3"), make_ranking("2020Q4")

    assert first.deliver_due() == 0  # the first to tick takes the timers' lease
    first.follower.receive(published(third_quarter, notification_id=1), no_gap)  # and consumes
    assert second.deliver_due() == 0  # notices are due, but the other replica sends nothing
    assert second.issue_reminders() == 0
    assert first.deliver_due() > 0

    # The single active consumer is now the other replica: it issues, the first one sends.
    second.follower.receive(published(fourth_quarter, notification_id=2), no_gap)
    assert first.deliver_due() > 0

    rows = second.deliveries()
    assert {row["status"] for row in rows} == {"sent"}
    assert {r["about"] for r in rows} == {
        f"ranking:{ranking_hash(q)}" for q in (third_quarter, fourth_quarter)
    }
    assert len(smtp.messages) == len(rows)
    assert set(sent_once(smtp).values()) == {1}
    assert first.deliveries() == rows


def test_when_the_replica_sending_stops_another_takes_over_and_sends_each_notice_once(
    replicas, smtp
):
    dying = replicas.start("a", CrashingTransport(replicas.transport, send_first=False))
    standby = replicas.start("b")
    dying.follower.receive(published(make_ranking()), no_gap)
    with pytest.raises(Crash):
        dying.deliver_due()  # its first delivery is left "sending", nothing was sent
    assert standby.deliver_due() == 0  # the first replica still holds the lease
    dying.close()  # it dies: its session ends, the lease is free

    standby.deliver_due()  # takes the lease over: the interrupted delivery is recorded
    replicas.clock.advance(minutes=5)
    standby.deliver_due()

    rows = standby.deliveries()
    assert {row["status"] for row in rows} == {"sent"}
    assert len(smtp.messages) == len(rows)
    assert set(sent_once(smtp).values()) == {1}
    interrupted = [r for r in rows if r["failures"]]
    assert len(interrupted) == 1
    assert interrupted[0]["failures"][0]["reason"] == INTERRUPTED


def test_a_replica_that_did_not_write_the_circular_writes_the_same_files(replicas):
    writer, other = replicas.start("a"), replicas.start("b")
    ranking = make_ranking()
    writer.follower.receive(published(ranking), no_gap)

    written = writer.circular_files(ranking_hash(ranking))
    made_again = other.circular_files(ranking_hash(ranking))

    assert [Path(p).name for p in made_again] == [Path(p).name for p in written]
    assert all(Path(p).parent == replicas.tmp_path / "b" / "circulars" for p in made_again)
    for mine, theirs in zip(written, made_again, strict=True):
        assert Path(mine).read_bytes() == Path(theirs).read_bytes()
