"""Reports through gRPC into the ranking, on PostgreSQL, the system running as processes.

- `ingest_batched_events_per_s`: a load of many projects (tools/loadgen/) sent by a few
  concurrent senders in batches of 500, from the first call until scoring has applied every
  stored event (its positions in registry's and tracking's logs, read from its store).
- `ingest_single_events_per_s`: another load, one event per call, from many senders: the
  市州's systems (each sending the reports about its own projects and leaders, in order) and
  the office's, as a province of county and department systems would.
- `ingest_to_ranking_p99_ms`: for each of those single events, from its "accepted" to the moment
  scoring's position in the owner's log reached the event's notification id (the facts the
  ranking is computed from are updated in the same step). Positions are sampled straight from
  scoring's store every few milliseconds, without asking scoring anything: a ranking query
  would make scoring catch up first and hide the delay.

Baseline, measured in the same run on the same database: the eventsourcing library saving
aggregates' events in batches of the same size (what the store alone can take).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from statistics import quantiles

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

import services.registry.domain  # their event classes name the public topics
import services.tracking.domain  # noqa: F401
from bench import ab as bench_ab
from bench import million
from bench.pg import PG, pg_env
from services.kernel.store.logread import public_topics
from tools.loadgen import Answered, Sender, generate_load, sender_streams
from tools.run import Supervisor, wait_for_gateway

BATCHED_REPORTS = int(os.environ.get("BENCH_BATCHED_REPORTS", "50000"))
SINGLE_REPORTS = int(os.environ.get("BENCH_SINGLE_REPORTS", "10000"))
BATCH = 500
BATCH_SENDERS = 4
SINGLE_SENDERS = 64  # 市州 systems sending one report per call, by project or leader
SAMPLE_SECONDS = 0.005
UPSTREAMS = ("registry", "tracking")


class Counter(Aggregate):
    @event("Counted")
    def count(self, amount: Decimal) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True)


@dataclass
class BenchSystem:
    env: dict[str, str]
    supervisor: Supervisor

    @property
    def target(self) -> str:
        return self.env["GATEWAY_ADDRESS"]

    @property
    def dbname(self) -> str:
        return self.env["POSTGRES_DBNAME"]


@contextmanager
def running_system(**settings: str) -> Iterator[BenchSystem]:
    """The whole system on a fresh PostgreSQL database and RabbitMQ vhost, removed afterwards;
    `settings`: environment variables of its own."""
    dbname = f"zhaoshang_bench_{uuid.uuid4().hex[:8]}"
    vhost = f"zhaoshang-bench-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    env = {
        **os.environ,
        **pg_env(dbname),
        "AMQP_URI": f"amqp://guest:guest@localhost:5672/{vhost}",
        "GATEWAY_ADDRESS": f"127.0.0.1:{_free_port()}",
        "ZHAOSHANG_VAR": f"/tmp/{vhost}",
        "LOG_LEVEL": "WARNING",
        "METRICS_PORT": "0",
        "GATEWAY_PLAINTEXT": "1",  # on loopback: the load generator's channels are plaintext
        **settings,
    }
    supervisor = Supervisor(env)
    try:
        supervisor.start_all()
        wait_for_gateway(env["GATEWAY_ADDRESS"], supervisor)
        yield BenchSystem(env, supervisor)
    finally:
        supervisor.stop_all()
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False)
        with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(dbname)))


# What scoring has applied, read from the stores -------------------------------------------


def _connect(dbname: str) -> psycopg.Connection:
    return psycopg.connect(dbname=dbname, autocommit=True, **PG)


def _table(conn: psycopg.Connection, schema: str, suffix: str) -> sql.Composed:
    (name,) = conn.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = %s AND table_name LIKE %s",
        (schema, f"%{suffix}"),
    ).fetchone()
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))


def scoring_positions(
    conn: psycopg.Connection, table: sql.Composed | None = None
) -> dict[str, int]:
    """How far scoring has applied each upstream's log (its tracking rows)."""
    table = table or _table(conn, "scoring", "tracking")
    one = sql.SQL("(SELECT max(notification_id) FROM {} WHERE application_name = %s)")
    statement = sql.SQL("SELECT ") + sql.SQL(", ").join(one.format(table) for _ in UPSTREAMS)
    # Each an index look-up, as scoring's own: sampled every few ms, a scan of the whole
    # table would load the database the system under measure runs on.
    row = conn.execute(statement, UPSTREAMS, prepare=True).fetchone()
    return {name: position or 0 for name, position in zip(UPSTREAMS, row, strict=True)}


def notification_ids(conn: psycopg.Connection) -> dict[str, tuple[str, int]]:
    """event_id -> (owning service, notification id) of every report-caused stored event."""
    import json

    found: dict[str, tuple[str, int]] = {}
    for service in UPSTREAMS:
        table = _table(conn, service, "events")
        rows = conn.execute(sql.SQL("SELECT notification_id, state FROM {}").format(table))
        for notification_id, state in rows:
            stored = json.loads(bytes(state))
            fields = stored.get("event", stored)
            if "event_id" in fields and not found.get(fields["event_id"]):
                found.setdefault(fields["event_id"], (service, notification_id))
    return found


def stored_heads(conn: psycopg.Connection) -> dict[str, int]:
    """The last public event in each upstream's log (what follows it, receipts and checkpoints
    alone, is never sent to scoring: services/kernel/bus/relay.py)."""
    heads = {}
    topics = public_topics()
    for service in UPSTREAMS:
        table = _table(conn, service, "events")
        (heads[service],) = conn.execute(
            sql.SQL(
                "SELECT coalesce(max(notification_id), 0) FROM {} WHERE topic = ANY(%s)"
            ).format(table),
            (topics,),
        ).fetchone()
    return heads


class PositionSampler(threading.Thread):
    """Samples scoring's positions every SAMPLE_SECONDS: (monotonic time, positions)."""

    def __init__(self, dbname: str) -> None:
        super().__init__(daemon=True)
        self.dbname = dbname
        self.samples: list[tuple[float, dict[str, int]]] = []
        self._stopping = threading.Event()

    def run(self) -> None:
        with _connect(self.dbname) as conn:
            table = _table(conn, "scoring", "tracking")
            while not self._stopping.is_set():
                positions = scoring_positions(conn, table)
                self.samples.append((time.monotonic(), positions))
                self._stopping.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stopping.set()
        self.join()

    def reached(self, service: str, notification_id: int, after: float) -> float | None:
        """The first sampled moment after `after` at which scoring had applied the event."""
        start = bisect_left(self.samples, after, key=lambda s: s[0])
        for moment, positions in self.samples[start:]:
            if positions.get(service, 0) >= notification_id:
                return moment
        return None


def wait_until_applied(dbname: str, timeout: float = 600.0) -> float:
    """Until scoring has applied everything stored upstream; the moment it had."""
    deadline = time.monotonic() + timeout
    with _connect(dbname) as conn:
        heads = stored_heads(conn)
        while True:
            positions = scoring_positions(conn)
            if all(positions.get(s, 0) >= heads[s] for s in UPSTREAMS):
                return time.monotonic()
            if time.monotonic() > deadline:
                raise TimeoutError(f"scoring at {positions}, stores at {heads}")
            time.sleep(SAMPLE_SECONDS)


# The measurements --------------------------------------------------------------------------


def send(
    system: BenchSystem, reports: list[dict], senders: int, batch: int, by_subject: bool = False
) -> list[Sender]:
    answered = Answered()
    keys = system.supervisor.api_keys
    threads = [
        Sender(system.target, streams, keys=keys, answered=answered, batch=batch, timeout=120)
        for streams in sender_streams(
            reports, senders, office=senders // 3 if by_subject else 2, by_subject=by_subject
        )
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    problems = [f for t in threads for f in t.log.failures]
    statuses = {a["status"] for t in threads for a in t.log.answers}
    if problems or statuses != {"accepted"}:
        raise RuntimeError(f"the load was not simply accepted: {statuses}, {problems[:3]}")
    return threads


def percentiles(values: Sequence[float]) -> dict[str, float]:
    cuts = quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p90": cuts[89], "p99": cuts[98], "max": max(values)}


def measure_batched(system: BenchSystem) -> dict:
    reports = generate_load(BATCHED_REPORTS, seed=11)
    started = time.monotonic()
    threads = send(system, reports, BATCH_SENDERS, BATCH)
    answered = max(t.log.calls[-1][1] for t in threads)
    applied = wait_until_applied(system.dbname)
    calls = [(end - sent) * 1000 for t in threads for sent, end, _ in t.log.calls]
    return {
        "events": len(reports),
        "rate": len(reports) / (applied - started),
        "answered_rate": len(reports) / (answered - started),
        "call_ms": percentiles(calls),
    }


def measure_single(system: BenchSystem) -> dict:
    reports = generate_load(SINGLE_REPORTS, seed=12)
    sampler = PositionSampler(system.dbname)
    sampler.start()
    started = time.monotonic()
    threads = send(system, reports, SINGLE_SENDERS, 1, by_subject=True)
    answered = max(t.log.calls[-1][1] for t in threads)
    wait_until_applied(system.dbname)
    time.sleep(0.1)
    sampler.stop()
    with _connect(system.dbname) as conn:
        where = notification_ids(conn)
    latencies = []
    for thread in threads:
        for (_, accepted_at, _), outcome in zip(thread.log.calls, thread.log.answers, strict=True):
            service, notification_id = where[outcome["event_id"]]
            visible_at = sampler.reached(service, notification_id, accepted_at - 1.0)
            assert visible_at is not None, outcome
            latencies.append(max(visible_at - accepted_at, 0.0) * 1000)
    calls = [(end - sent) * 1000 for t in threads for sent, end, _ in t.log.calls]
    return {
        "events": len(reports),
        "rate": len(reports) / (answered - started),
        "call_ms": percentiles(calls),
        "visible_ms": percentiles(latencies),
    }


def baseline_batched_saves(dbname: str, total: int) -> float:
    """Events/s the eventsourcing library saves on this database, BATCH events per save."""
    app = Application(env={**pg_env(dbname), "POSTGRES_SCHEMA": "public", "CREATE_TABLE": "y"})
    aggregates = []
    for _ in range(total // BATCH):
        batch = [Counter() for _ in range(BATCH // 2)]
        for counter in batch:
            counter.count(amount=Decimal("1.5"))
        aggregates.append(batch)
    started = time.perf_counter()
    for batch in aggregates:
        app.save(*batch)
    elapsed = time.perf_counter() - started
    app.close()
    return (total // BATCH) * BATCH / elapsed


def against_earlier(rate: float, library: float, where: str) -> dict:
    """With BENCH_AB_TREE (a checkout of an earlier commit, bench/ab.py): the single figure's
    baseline and ratio are the interleaved A/B's, as issue 19 asks; the library's stays
    beside it."""
    tree = os.environ.get("BENCH_AB_TREE")
    if not tree:
        return {}
    ab = bench_ab.interleaved(Path(tree), Path(__file__).resolve().parents[1])
    return {
        "baseline": ab["earlier"],
        "ratio": ab["ratio"],
        "baseline_commit": ab["commit"],
        "ab_rounds": ab["rounds"],
        "ab_current_median": ab["current"],
        "baseline_library_batched_save_per_s": round(library, 1),
        "ratio_to_library": round(rate / library, 4),
        "detail": f"{SINGLE_REPORTS} reports, one per gRPC call, from {SINGLE_SENDERS} senders "
        f"of the 市州 and {SINGLE_SENDERS // 3} of the office's checks; {where}; baseline and "
        f"ratio: commit {ab['commit']} and this one running side by side, {bench_ab.REPORTS} "
        f"such reports to each in turn, {len(ab['rounds'])} rounds (bench/ab.py): the medians "
        "of their rates and of the rounds' ratios",
    }


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 1) for k, v in values.items()}


def run() -> list[dict]:
    # The load speaks for a province of systems through one key per source: no per-key limit
    # (the gateway's fair share is bench/fairness.py's).
    with running_system(GATEWAY_FAIR_SHARE="0") as system:
        batched = measure_batched(system)
        print("batched:", batched, file=sys.stderr)
        after_first = million.resident(system)
        single = measure_single(system)
        print("single:", single, file=sys.stderr)
        baseline = baseline_batched_saves(system.dbname, BATCHED_REPORTS)
        already = BATCHED_REPORTS + SINGLE_REPORTS
        at_a_million = million.run(system, already, after_first, sys.modules[__name__])
    where = "PostgreSQL, the system as processes (make run) on this machine"
    base = "eventsourcing batched saves (500 events per save) on the same database, same run"
    return [
        {
            "name": "ingest_batched_events_per_s",
            "value": round(batched["rate"], 1),
            "unit": "events/s",
            "baseline": round(baseline, 1),
            "ratio": round(batched["rate"] / baseline, 4),
            "answered_events_per_s": round(batched["answered_rate"], 1),
            "call_ms": _rounded(batched["call_ms"]),
            "detail": f"{batched['events']} reports (tools/loadgen/, 17 市州 + office) from "
            f"{BATCH_SENDERS} concurrent senders in batches of {BATCH} over gRPC, from the first "
            f"call until scoring had applied every stored event; {where}; baseline: {base}",
        },
        {
            "name": "ingest_single_events_per_s",
            "value": round(single["rate"], 1),
            "unit": "events/s",
            "baseline": round(baseline, 1),
            "ratio": round(single["rate"] / baseline, 4),
            "call_ms": _rounded(single["call_ms"]),
            "detail": f"{single['events']} reports, one per gRPC call, from {SINGLE_SENDERS} "
            f"concurrent senders of the 市州 (each sending the reports about its own projects "
            f"and leaders in order) and {SINGLE_SENDERS // 3} of the office's checks, until "
            f"the last was answered; {where}; baseline: {base}",
            **against_earlier(single["rate"], baseline, where),
        },
        {
            "name": "ingest_to_ranking_p99_ms",
            "value": round(single["visible_ms"]["p99"], 1),
            "unit": "ms",
            "baseline": round(1000 / baseline, 4),
            "ratio": round(single["visible_ms"]["p99"] / (1000 / baseline), 1),
            "percentiles_ms": _rounded(single["visible_ms"]),
            "detail": "for each single-event report above: from its 'accepted' answer until "
            "scoring's position in the owner's log (sampled from scoring's store every "
            f"{SAMPLE_SECONDS * 1000:g} ms) covered it, i.e. the ranking's facts include it; "
            "baseline: the library's batched save time per event (ms), for scale",
        },
        *at_a_million,
    ]
