"""Fixtures for the real broker and database: each system a test starts gets its own RabbitMQ
vhost and its own PostgreSQL database, so it never meets another run's queues or rows."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psycopg
import pytest
from psycopg import sql

from services.kernel.store.pgtls import SETTINGS, tls_parameters

RABBIT_HOST = os.environ.get("TEST_RABBIT_HOST", "localhost:5672")
# A server that wants TLS: POSTGRES_SSLMODE and the like reach the tests' connections too.
PG_TLS = {name: os.environ[name] for name in SETTINGS if os.environ.get(name)}
PG = {
    "host": os.environ.get("TEST_POSTGRES_HOST", "127.0.0.1"),
    "port": os.environ.get("TEST_POSTGRES_PORT", "5432"),
    "user": os.environ.get("TEST_POSTGRES_USER", "postgres"),
    **tls_parameters(PG_TLS),
}


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def fresh_vhost() -> Iterator[str]:
    """A fresh vhost on the machine's RabbitMQ, removed afterwards: durable queues left by one
    system must never feed another."""
    vhost = f"zhaoshang-test-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{RABBIT_HOST}/{vhost}"
    finally:  # a broker a fault test left stopped keeps the vhost: not the test's failure
        with suppress(subprocess.CalledProcessError):
            rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
def amqp_uri() -> Iterator[str]:
    with fresh_vhost() as uri:
        yield uri


@pytest.fixture(scope="module")
def amqp_uri_module() -> Iterator[str]:
    """One vhost for a module's tests that share one running service."""
    with fresh_vhost() as uri:
        yield uri


def _admin() -> psycopg.Connection:
    return psycopg.connect(dbname="postgres", autocommit=True, **PG)


@contextmanager
def fresh_database() -> Iterator[dict[str, str]]:
    """Environment for a fresh PostgreSQL database, dropped afterwards."""
    name = f"zhaoshang_test_{uuid.uuid4().hex[:8]}"
    with _admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": name,
            "POSTGRES_HOST": PG["host"],
            "POSTGRES_PORT": PG["port"],
            "POSTGRES_USER": PG["user"],
            "POSTGRES_PASSWORD": "",
            **PG_TLS,
        }
    finally:
        with _admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def postgres_env() -> Iterator[dict[str, str]]:
    with fresh_database() as env:
        yield env


@pytest.fixture
def sqlite_env(tmp_path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "ZHAOSHANG_VAR": str(tmp_path / "var")}


@pytest.fixture(params=["sqlite", "postgres"])
def store_env(request) -> dict[str, str]:
    """Each test that takes this runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_env")
