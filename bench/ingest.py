"""Reports through gRPC batches into the ranking, on PostgreSQL, the system running as processes.

Baseline, measured in the same run on the same database: the eventsourcing library saving
aggregates' events in batches of the same size (what the store alone can take).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from decimal import Decimal

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

from services.demo import generate_demo
from services.gateway.client import GatewayClient
from services.run import Supervisor, wait_for_gateway

QUARTERS = ("2020Q1", "2020Q2", "2020Q3", "2020Q4")
BATCH = 500
PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}


class Counter(Aggregate):
    @event("Counted")
    def count(self, amount: Decimal) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database() -> str:
    name = f"zhaoshang_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def _drop(name: str) -> None:
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def _pg_env(dbname: str) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": PG["host"],
        "POSTGRES_PORT": PG["port"],
        "POSTGRES_USER": PG["user"],
        "POSTGRES_PASSWORD": "",
    }


def baseline_batched_saves(dbname: str, total: int) -> float:
    """Events/s the eventsourcing library saves on this database, BATCH events per save."""
    app = Application(env={**_pg_env(dbname), "POSTGRES_SCHEMA": "public", "CREATE_TABLE": "y"})
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


def run() -> list[dict]:
    reports = [r for quarter in QUARTERS for r in generate_demo(quarter)]
    dbname = _database()
    vhost = f"zhaoshang-bench-{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
        check=True,
    )
    env = {
        **os.environ,
        **_pg_env(dbname),
        "AMQP_URI": f"amqp://guest:guest@localhost:5672/{vhost}",
        "GATEWAY_ADDRESS": f"127.0.0.1:{_free_port()}",
        "ZHAOSHANG_VAR": f"/tmp/{vhost}",
        "LOG_LEVEL": "WARNING",
    }
    supervisor = Supervisor(env)
    supervisor.start_all()
    try:
        wait_for_gateway(env["GATEWAY_ADDRESS"], supervisor)
        with GatewayClient(env["GATEWAY_ADDRESS"], timeout=300) as client:
            started = time.perf_counter()
            for start in range(0, len(reports), BATCH):
                client.publish(reports[start : start + BATCH])
            for quarter in QUARTERS:  # scoring answers once it has caught up with every report
                client.get_ranking(quarter, view="provisional")
            elapsed = time.perf_counter() - started
        rate = len(reports) / elapsed
        baseline = baseline_batched_saves(dbname, len(reports))
    finally:
        supervisor.stop_all()
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False)
        _drop(dbname)
    return [
        {
            "name": "ingest_grpc_batches_to_ranking",
            "value": round(rate, 1),
            "unit": "events/s",
            "baseline": round(baseline, 1),
            "ratio": round(rate / baseline, 4),
            "detail": f"{len(reports)} demo reports (4 quarters, 17 市州) in batches of {BATCH} "
            "over gRPC, PostgreSQL, until every quarter's ranking includes them; baseline: "
            "eventsourcing batched saves on the same database",
        }
    ]
