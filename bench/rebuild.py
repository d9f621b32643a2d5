"""`rebuild_events_per_s`: a full year's rankings rebuilt from 1,000,000 stored events on
PostgreSQL, straight from registry's and tracking's stores.

`make bench NAME=ingest` runs it over the stores the system made from a million reports
(bench/million.py). `python -m bench.rebuild` writes a log of its own first, by the services'
own applications (registry and tracking, as their nameko entrypoints call them, without the bus
or gRPC), in batches of 1,000 reports:
load-generator quarters (tools/loadgen/) with distinct project codes, until the two logs
hold a million events, in a database created here and dropped afterwards.

The rebuild reads both notification logs in pages of 100,000 rows — the rows of the event types
scoring reads, selected by topic in the query (receipts and the rest are never sent), the next
page fetched while this one is worked on — turns each row into its wire event straight from the
stored JSON (services/kernel/store/logread.py), folds them into facts and ranks the four quarters of
2020 (services/scoring/rebuild.py). Its rate is stored events covered per second. Baseline, in
the same run on the same database: the eventsourcing library reading the same notification logs
(`select_notifications`) and decoding every event (`mapper.to_domain_event`). Each is timed
ROUNDS times, alternately, and the medians compared.
"""

from __future__ import annotations

import gc
import itertools
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import psycopg
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import OperationalError
from eventsourcing.utils import get_topic
from psycopg import sql

from bench.pg import PG, pg_env
from services.kernel.contract.report import validate_report
from services.kernel.contract.vocabulary import OWNER
from services.kernel.contract.wire import json_safe
from services.kernel.reference import reference
from services.kernel.store.environment import ServiceApplication, store_env
from services.kernel.store.logread import WireReader
from services.registry import domain as registry_domain
from services.registry.application import RegistryApplication
from services.scoring.application import load_policy_file
from services.scoring.facts import Facts
from services.scoring.ranking import ranking_hash
from services.scoring.rebuild import UPSTREAMS, Units, rank
from services.scoring.upstream import READ_TYPES
from services.tracking import domain as tracking_domain
from services.tracking.application import TrackingApplication, leader_keys, project_codes
from tools.loadgen import generate_load

NAME = "rebuild_events_per_s"
TARGET_EVENTS = 1_000_000
QUARTERS = ("2020Q1", "2020Q2", "2020Q3", "2020Q4")
LOAD = 20_000  # reports per generated load (one quarter, one seed)
BATCH = 1_000  # reports per ingest call (larger inserts can stall psycopg's pipeline mode)
PAGE = 100_000  # rows per read
ROUNDS = 3  # rebuilds and baselines, alternately; medians compared


def _admin(statement: sql.Composable) -> None:
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
        conn.execute(statement)


def _stored(*apps: ServiceApplication) -> int:
    return sum(app.process_recorder.max_notification_id() or 0 for app in apps)


# Writing the events -----------------------------------------------------------------------------


def generate(env: dict[str, str], target: int = TARGET_EVENTS) -> int:
    """Load quarters through registry and tracking until their logs hold `target` events."""
    registry = RegistryApplication(store_env("registry", env))
    tracking = TrackingApplication(store_env("tracking", env))
    try:
        for seed in itertools.count(1):
            quarter = QUARTERS[(seed - 1) % len(QUARTERS)]
            load = generate_load(LOAD, seed, quarter)
            for attempt in range(3):  # a database restarted by a fault test: send it again
                try:
                    ingest(registry, tracking, load)  # a resend is answered "duplicate"
                    break
                except OperationalError:
                    if attempt == 2:
                        raise
                    time.sleep(5)
            stored = _stored(registry, tracking)
            print(f"  {stored:,} events stored", file=sys.stderr, end="\r")
            if stored >= target:
                print(file=sys.stderr)
                return stored
    finally:
        registry.close()
        tracking.close()
    raise AssertionError("unreachable")


def ingest(registry: RegistryApplication, tracking: TrackingApplication, raw: list[dict]) -> None:
    """A load's registry reports, then its tracking reports (each needs only registry's), in
    batches, as the services' entrypoints apply them; registry then follows tracking."""
    reports = sorted((validate_report(r) for r in raw), key=lambda r: OWNER[r.type] != "registry")
    for start in range(0, len(reports), BATCH):
        batch = reports[start : start + BATCH]
        by_registry = [r for r in batch if OWNER[r.type] == "registry"]
        by_tracking = [r for r in batch if OWNER[r.type] == "tracking"]
        if by_registry:
            registry.ingest(by_registry)
        if by_tracking:
            context = {
                "projects": json_safe(registry.project_states(sorted(project_codes(by_tracking)))),
                "leaders": json_safe(registry.leader_states(sorted(leader_keys(by_tracking)))),
            }
            tracking.ingest(by_tracking, context)
    registry.follower.catch_up("tracking", lambda start, stop: tracking.read_wire(start, stop))


def settle(dbname: str) -> None:
    """What a log that was not written a moment ago is like: vacuumed (its rows' visibility
    hints set) and analysed. The first read of freshly inserted rows would otherwise also write
    those hints, a cost of the load, not of the rebuild."""
    with psycopg.connect(dbname=dbname, autocommit=True, **PG) as conn:
        for service in UPSTREAMS:
            conn.execute(
                sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(service, f"{service}_events"))
            )


# Reading them back ------------------------------------------------------------------------------


def topics_read(module: ModuleType) -> list[str]:
    """The topics of a domain module's events whose wire type facts are made of."""
    return [
        get_topic(event)
        for aggregate in vars(module).values()
        if isinstance(aggregate, type) and issubclass(aggregate, Aggregate)
        for event in vars(aggregate).values()
        if isinstance(event, type) and getattr(event, "wire_type", None) in READ_TYPES
    ]


def pages(dbname: str, service: str, topics: list[str]) -> Iterator[list[tuple]]:
    """(notification id, version, topic, state) of the stored events with these topics, in log
    order, a page at a time; the next page is fetched while the caller works on this one."""
    statement = sql.SQL(
        "SELECT notification_id, originator_version, topic, state FROM {} "
        "WHERE notification_id > %s AND topic = ANY(%s) ORDER BY notification_id LIMIT %s"
    ).format(sql.Identifier(service, f"{service}_events"))
    with (
        psycopg.connect(dbname=dbname, **PG) as conn,
        conn.cursor(binary=True) as cursor,
        ThreadPoolExecutor(1) as prefetch,
    ):
        fetch = lambda last: cursor.execute(statement, (last, topics, PAGE)).fetchall()  # noqa: E731
        page = fetch(0)
        while page:
            following = prefetch.submit(fetch, page[-1][0])
            yield page
            page = following.result()


def rebuild(env: dict[str, str]) -> tuple[int, int, float, dict[str, str]]:
    """Stored events covered, rows read, seconds, and each quarter's ranking hash."""
    units, policy = Units.from_reference(reference()), load_policy_file()
    domains = {"registry": registry_domain, "tracking": tracking_domain}
    # Hundreds of thousands of new objects, none of them garbage: the cyclic collector would
    # walk them all again and again (a third of the time, measured).
    gc.disable()
    started = time.perf_counter()
    facts, read = Facts(), 0
    for service in UPSTREAMS:
        event, apply = WireReader(service).event, facts.apply
        for page in pages(env["POSTGRES_DBNAME"], service, topics_read(domains[service])):
            read += len(page)
            for row in page:
                apply(service, event(*row))
    hashes = {q: ranking_hash(rank(facts, policy, q, units)) for q in QUARTERS}
    seconds = time.perf_counter() - started
    gc.enable()
    return _covered(env), read, seconds, hashes


def _covered(env: dict[str, str]) -> int:
    """The stored events of both logs."""
    with psycopg.connect(dbname=env["POSTGRES_DBNAME"], **PG) as conn:
        return sum(
            conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(
                    sql.Identifier(service, f"{service}_events")
                )
            ).fetchone()[0]
            for service in UPSTREAMS
        )


def baseline(env: dict[str, str]) -> tuple[int, float]:
    """Stored events the library reads and decodes from the same logs, and the seconds taken."""
    apps = [
        RegistryApplication(store_env("registry", env)),
        TrackingApplication(store_env("tracking", env)),
    ]
    try:
        started, decoded = time.perf_counter(), 0
        for app in apps:
            start = 1
            while notifications := app.process_recorder.select_notifications(start, PAGE):
                for notification in notifications:
                    app.mapper.to_domain_event(notification)
                decoded += len(notifications)
                start = notifications[-1].id + 1
        return decoded, time.perf_counter() - started
    finally:
        for app in apps:
            app.close()


def run(dbname: str | None = None, origin: str = "") -> list[dict[str, Any]]:
    """With `dbname`, an existing database of stored events is used and kept; `origin` says
    how they were stored (for the entry's detail)."""
    keep = dbname is not None
    dbname = dbname or f"zhaoshang_bench_{uuid.uuid4().hex[:8]}"
    if not keep:
        _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    env = pg_env(dbname)
    try:
        if not keep:
            generate(env)
            settle(dbname)
        # Each ROUNDS times, alternately: this VM's speed drifts within a minute by more
        # than the difference between two designs. The medians are compared.
        ours, theirs = [], []
        for _ in range(ROUNDS):
            ours.append(rebuild(env))
            theirs.append(baseline(env))
    finally:
        if not keep:
            _admin(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(dbname)))
    covered, read, _, hashes = ours[0]
    if any(run[3] != hashes for run in ours):
        raise AssertionError("a rebuild of the same log gave other rankings")
    seconds = statistics.median(run[2] for run in ours)
    decoded, baseline_seconds = theirs[0][0], statistics.median(run[1] for run in theirs)
    rate, base = covered / seconds, decoded / baseline_seconds
    return [
        {
            "name": NAME,
            "value": round(rate, 1),
            "unit": "events/s",
            "baseline": round(base, 1),
            "ratio": round(rate / base, 2),
            "detail": f"{covered:,} stored events (registry and tracking, PostgreSQL"
            f"{origin or ', written by their applications from generated quarters'}): the "
            f"{read:,} of the types scoring reads selected by topic, read in pages of "
            f"{PAGE:,}, folded, and 2020Q1-Q4 ranked in {seconds:.2f}s (median of {ROUNDS}, "
            f"alternating with the baseline's); baseline: eventsourcing select_notifications + "
            f"mapper.to_domain_event of the same {decoded:,} events in {baseline_seconds:.2f}s",
            "rounds_s": {
                "rebuild": [round(run[2], 2) for run in ours],
                "baseline": [round(run[1], 2) for run in theirs],
            },
            "hashes": hashes,
        }
    ]


if __name__ == "__main__":  # python -m bench.rebuild [existing database, kept]
    print(run(sys.argv[1] if len(sys.argv) > 1 else None))
