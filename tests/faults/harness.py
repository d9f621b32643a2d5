"""Load in flight while something breaks, then the checks a user of the system cares about.

`run_under_fault` sends a load from a few concurrent senders (prefecture systems and the office
publishing in batches over gRPC with their API keys, resending a batch with the same event ids
until it is answered) while `fault` hurts the system; `check_recovered` then holds the system to
README "Guarantees": every report answered "accepted" is stored exactly once, resends change
nothing, the published ranking is the independent count of the accepted reports, and each circular
is written once.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg

from services.kernel.reference import reference
from tests.faults.conftest import FaultySystem
from tests.oracle import expected_ranking
from tools.loadgen import (
    RETRYABLE,
    Answered,
    Sender,
    SendLog,
    by_source,
    channel,
    metadata,
    sender_streams,
)
from zhaoshang.api import zhaoshang_pb2 as pb
from zhaoshang.api import zhaoshang_pb2_grpc as pb_grpc
from zhaoshang.client import VIEWS, event_to_proto, outcome_from_proto, ranking_from_proto

QUARTER = "2020Q3"
EARLIER_QUARTER = "2020Q2"  # published while the load is in flight: its circular meets the fault
SENDERS = 4  # prefecture systems' senders, besides the office's two
BATCH = 500
SERVICES = ("registry", "tracking", "scoring", "notify")
RECEIPT_TOPIC = "services.kernel.ingest.reports:Receipt.Recorded"
GIVE_UP_SECONDS = 300  # a batch unanswered this long after the start is a hang, not an outage


class Gateway:
    """The calls the checks make, each with the API key of the source it speaks for."""

    def __init__(self, system: FaultySystem, timeout: float = 120.0) -> None:
        self.keys, self.timeout = system.keys, timeout
        self._channel = channel(system.target)
        self._ingest = pb_grpc.IngestStub(self._channel)
        self._query = pb_grpc.QueryStub(self._channel)
        self._office = pb_grpc.OfficeStub(self._channel)

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self._channel.close()

    def publish(self, batch: list[dict]) -> list[dict]:
        """A batch of one source's reports, sent with that source's key."""
        request = pb.PublishRequest(events=[event_to_proto(e) for e in batch])
        meta = metadata(self.keys, batch[0]["source"])
        response = self._ingest.Publish(request, timeout=self.timeout, metadata=meta)
        return [outcome_from_proto(o) for o in response.outcomes]

    def get_ranking(self, quarter: str, view: str = "official") -> dict:
        request = pb.GetRankingRequest(quarter=quarter, view=VIEWS[view])
        meta = metadata(self.keys, "office")
        return ranking_from_proto(
            self._query.GetRanking(request, timeout=self.timeout, metadata=meta)
        )

    def publish_ranking(self, quarter: str) -> dict:
        request = pb.PublishRankingRequest(quarter=quarter)
        meta = metadata(self.keys, "office")
        return ranking_from_proto(
            self._office.PublishRanking(request, timeout=self.timeout, metadata=meta)
        )


class Load:
    """The senders of one load, and how far they got."""

    def __init__(
        self, system: FaultySystem, reports: list[dict], targets: Sequence[str] = ()
    ) -> None:
        """`targets`: the gateways the senders are spread over (default: the system's one)."""
        self.reports = reports
        self.answered = Answered()
        self.started = time.monotonic()
        targets = targets or [system.target]
        self.senders = [
            Sender(
                targets[n % len(targets)],
                streams,
                keys=system.keys,
                answered=self.answered,
                batch=BATCH,
                give_up_at=self.started + GIVE_UP_SECONDS,
            )
            for n, streams in enumerate(sender_streams(reports, SENDERS))
        ]

    def start(self) -> None:
        for sender in self.senders:
            sender.start()

    def wait_for(self, answered: int, timeout: float = 240.0) -> None:
        """Until `answered` reports have been answered (or the senders are done)."""
        deadline = time.monotonic() + timeout
        while len(self.answered) < answered and not self.done:
            assert time.monotonic() < deadline, f"only {len(self.answered)} answered"
            time.sleep(0.05)

    @property
    def done(self) -> bool:
        return not any(sender.is_alive() for sender in self.senders)

    def join(self) -> None:
        for sender in self.senders:
            sender.join(max(1.0, self.started + GIVE_UP_SECONDS + 60 - time.monotonic()))
        assert self.done, "a sender is still waiting"


@dataclass
class Run:
    reports: list[dict]
    logs: list[SendLog]
    seconds: float

    @property
    def answers(self) -> list[dict]:
        return [answer for log in self.logs for answer in log.answers]

    @property
    def failures(self) -> list[tuple[float, str, str]]:
        return [failure for log in self.logs for failure in log.failures]

    def summary(self) -> str:
        statuses = Counter(a["status"] for a in self.answers)
        failed = Counter(code for _, code, _ in self.failures)
        resent = sum(len(log.resent) for log in self.logs)
        return (
            f"{len(self.reports)} reports sent for {self.seconds:.1f}s: {dict(statuses)}; "
            f"failed calls {dict(failed)}; batches resent {resent}"
        )


Fault = Callable[[FaultySystem, Load], None]


def run_under_fault(
    system: FaultySystem, reports: list[dict], fault: Fault, targets: Sequence[str] = ()
) -> Run:
    """Send `reports` from SENDERS concurrent prefecture senders and the office's (over
    `targets`, the gateways) while `fault` runs; wait for every sender to finish."""
    load = Load(system, reports, targets)
    load.start()
    with Gateway(system) as gateway:
        gateway.publish_ranking(EARLIER_QUARTER)
    try:
        fault(system, load)
    finally:
        load.join()
    run = Run(reports, [s.log for s in load.senders], time.monotonic() - load.started)
    print(run.summary())  # shown with `pytest -s`, and with a failure
    return run


def check_recovered(system: FaultySystem, run: Run) -> None:
    """Everything README "Guarantees" promises, after the fault is over. Every check runs, so one
    failure does not hide another; the test fails if any did."""
    problems: list[str] = []

    def attempt(check: Callable[..., object], *args: object) -> object:
        try:
            return check(*args)
        except Exception as failed:  # a check that cannot even run is a finding too
            problems.append(f"{check.__name__}: {type(failed).__name__}: {failed}")
            return None

    attempt(check_answers, run)
    attempt(check_resends_change_nothing, system, run)
    published = attempt(check_ranking, system, run)
    attempt(check_stores, system, run)
    if isinstance(published, dict):
        attempt(check_circulars, system, published)
    assert not problems, "\n".join(problems)


def check_answers(run: Run) -> None:
    """Every report was answered in the end, each "accepted" at most once, and the only
    failures were ones a sender is told to retry."""
    assert not [batch for log in run.logs for batch in log.gave_up], "batches never answered"
    unexpected = [f for f in run.failures if f[1] not in RETRYABLE]
    assert not unexpected, f"failures a sender cannot act on: {unexpected[:3]}"
    statuses: dict[str, list[str]] = {}
    for answer in run.answers:
        statuses.setdefault(answer["event_id"], []).append(answer["status"])
    missing = [r["event_id"] for r in run.reports if r["event_id"] not in statuses]
    assert not missing, f"{len(missing)} reports never answered, e.g. {missing[:3]}"
    wrong = {e: s for e, s in statuses.items() if not set(s) <= {"accepted", "duplicate"}}
    assert not wrong, f"{len(wrong)} valid reports not accepted, e.g. {list(wrong.items())[:3]}"
    twice = {e: s for e, s in statuses.items() if s.count("accepted") > 1}
    assert not twice, f"{len(twice)} reports accepted twice, e.g. {list(twice.items())[:3]}"


def check_resends_change_nothing(system: FaultySystem, run: Run) -> None:
    """What a sender resends after the outage — the batches it had to retry, and the first
    batch of each stream — is answered "duplicate"."""
    again = [batch for log in run.logs for batch in log.resent]
    again += [stream[:BATCH] for stream in by_source(run.reports).values()]
    with Gateway(system) as gateway:
        for batch in again:
            statuses = Counter(o["status"] for o in gateway.publish(batch))
            assert statuses == Counter({"duplicate": len(batch)}), statuses


def check_ranking(system: FaultySystem, run: Run) -> dict:
    """The published ranking is the independent count of the accepted reports."""
    answered = {a["event_id"] for a in run.answers if a["status"] in ("accepted", "duplicate")}
    accepted = [r for r in run.reports if r["event_id"] in answered]
    prefectures = [(r.code, r.name) for r in reference().prefectures]
    expected = expected_ranking(accepted, QUARTER, prefectures)
    with Gateway(system) as gateway:
        gateway.get_ranking(QUARTER, view="provisional")  # scoring catches up before answering
        published = gateway.publish_ranking(QUARTER)
    got = [(row["region"], row["total"]) for row in published["rows"]]
    assert got == expected, (
        f"published {[g for g in got if g not in expected]}, expected "
        f"{[e for e in expected if e not in got]}; as of {published.get('as_of')}"
    )
    return published


def stored_events(env: dict[str, str]) -> dict[str, list[tuple[str, dict]]]:
    """(topic, state) of every stored event, per service schema, read straight from PostgreSQL."""
    found: dict[str, list[tuple[str, dict]]] = {}
    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"], user=env["POSTGRES_USER"]
    ) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_name LIKE '%%events' AND table_schema = ANY(%s)",
            (list(SERVICES),),
        ).fetchall()
        for schema, table in tables:
            rows = conn.execute(f'SELECT topic, state FROM "{schema}"."{table}"').fetchall()
            found.setdefault(schema, []).extend((t, event_state(s)) for t, s in rows)
    assert set(found) == set(SERVICES), f"stores found: {sorted(found)}"
    return found


def event_state(stored: bytes) -> dict:
    """A stored event's own fields: the JSON inside the hash-chain wrapper, when there is one
    (services/kernel/store/chain.py)."""
    state = json.loads(bytes(stored))
    return state["event"] if "chain" in state and "event" in state else state


def check_stores(system: FaultySystem, run: Run) -> None:
    """Each report has exactly one receipt and caused exactly one stored event in its owner's
    store; scoring consumed each upstream notification, and so each report, exactly once."""
    stored = stored_events(system.env)
    receipts: Counter[str] = Counter()
    caused: Counter[str] = Counter()
    for events in stored.values():
        for topic, state in events:
            if "event_id" in state:
                (receipts if topic == RECEIPT_TOPIC else caused)[state["event_id"]] += 1
    assert receipts, "no receipts found: the check would prove nothing"
    assert max(receipts.values()) == 1, [e for e, n in receipts.items() if n > 1][:3]
    assert max(caused.values()) == 1, [e for e, n in caused.items() if n > 1][:3]
    answered = {a["event_id"] for a in run.answers}
    not_once = [e for e in answered if receipts[e] != 1 or caused[e] != 1]
    assert not not_once, f"{len(not_once)} reports not stored exactly once: {not_once[:3]}"
    consumed: Counter[tuple[str, int]] = Counter()
    consumed_reports: Counter[str] = Counter()
    for topic, state in stored["scoring"]:
        if topic.endswith("Ledger.Received"):
            consumed.update((w["service"], w["notification_id"]) for w in state["events"])
            consumed_reports.update(w["event_id"] for w in state["events"])
    twice = [key for key, n in consumed.items() if n > 1]
    assert not twice, f"scoring consumed {len(twice)} notifications twice: {twice[:3]}"
    not_consumed_once = [e for e in answered if consumed_reports[e] != 1]
    assert not not_consumed_once, (
        f"{len(not_consumed_once)} reports not consumed by scoring exactly once: "
        f"{[(e, consumed_reports[e]) for e in not_consumed_once[:3]]}"
    )


def check_circulars(system: FaultySystem, published: dict) -> None:
    """notify wrote one circular per published ranking, once: one file, one Circular."""
    circulars = Path(system.env["ZHAOSHANG_VAR"]) / "circulars"
    expected = circulars / f"{QUARTER}-{published['hash'][:12]}.md"
    deadline = time.monotonic() + 60
    while not expected.exists():
        assert time.monotonic() < deadline, f"{expected} was not written"
        time.sleep(0.2)
    time.sleep(2)  # a second answer to the publication would come now
    for quarter in (EARLIER_QUARTER, QUARTER):
        files = sorted(p.name for p in circulars.glob(f"{quarter}-*.md"))
        assert len(files) == 1, files
    written = [
        state
        for topic, state in stored_events(system.env)["notify"]
        if topic.endswith("Circular.Written") or topic.split(":")[-1].startswith("Circular.")
    ]
    hashes = Counter(state.get("ranking_hash") for state in written)
    assert len(written) == 2 and set(hashes.values()) == {1}, hashes


def answered_share(run: Run, statuses: Sequence[str] = ("accepted",)) -> int:
    return sum(1 for a in run.answers if a["status"] in statuses)
