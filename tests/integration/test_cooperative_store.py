"""A nameko service keeps answering while one of its queries waits on PostgreSQL
(services/kernel/cooperative.py): psycopg would otherwise wait in C and hold up every green
thread of the service, its RPC answers and the broker's heartbeats among them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from services.gateway.rpc import NamekoRpc
from tests.conftest import PG, fresh_database
from tests.integration.nameko_run import serving
from tests.integration.test_observability import eventually

pytestmark = [pytest.mark.rabbit, pytest.mark.postgres]
QUERY_SECONDS = 5.0  # far longer than an answer to `ping` takes, however busy the machine


@pytest.fixture(scope="module")
def querying(amqp_uri_module: str, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """The service running; the broker's address and the service's database."""
    log = tmp_path_factory.mktemp("querying") / "querying.log"
    with fresh_database() as store:
        env = {**os.environ, **store, "AMQP_URI": amqp_uri_module}
        with serving(
            "tests.integration.querying_service",
            env,
            log,
            lambda rpc: rpc.call("querying", "ping") == "pong",
        ):
            yield amqp_uri_module, store["POSTGRES_DBNAME"]


def sleeping_queries(dbname: str) -> int:
    with psycopg.connect(dbname=dbname, autocommit=True, **PG) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND query LIKE 'SELECT pg_sleep%'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_service_answers_while_one_of_its_queries_waits_on_the_database(querying):
    amqp_uri, dbname = querying
    slow, quick = NamekoRpc(amqp_uri, timeout=30), NamekoRpc(amqp_uri, timeout=30)
    try:
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(slow.call, "querying", "wait_in_store", seconds=QUERY_SECONDS)
            eventually(lambda: sleeping_queries(dbname) == 1)

            assert quick.call("querying", "ping") == "pong"
            # answered while the query still runs, not after it
            assert sleeping_queries(dbname) == 1
            assert not waiting.done()
            assert waiting.result() == QUERY_SECONDS
    finally:
        slow.close()
        quick.close()
