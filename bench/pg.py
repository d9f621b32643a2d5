"""The PostgreSQL on this machine, as the benchmarks use it."""

from __future__ import annotations

PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}


def pg_env(dbname: str) -> dict[str, str]:
    """The services' store settings for a benchmark database."""
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": PG["host"],
        "POSTGRES_PORT": PG["port"],
        "POSTGRES_USER": PG["user"],
        "POSTGRES_PASSWORD": "",
    }
