"""Where tracking keeps 佐证材料 files: content-addressed by SHA-256, in chunks of at most
CHUNK_BYTES, written once. In production (PostgreSQL) as rows of tracking's own schema
(`evidence_files`, `evidence_chunks`, `evidence_uploaders`); by default as files under
var/evidence/<sha256>/ beside tracking's SQLite store.

A file arrives in chunks (`put_chunk`, idempotent) and is `seal`ed once all are there: the store
hashes what it holds and refuses a file whose bytes are not the hash they were sent under.
Who uploaded a file (the units) is kept with it: Evidence.Download reads within that scope.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg import sql

from services.kernel.store.environment import POSTGRES, var_dir
from services.kernel.store.pgtls import tls_parameters

CHUNK_BYTES = 1024 * 1024


class SealFailed(ValueError):
    """The chunks held are not the file announced (missing, or another hash or size)."""


class EvidenceStore(Protocol):
    def put_chunk(self, sha256: str, index: int, data: bytes) -> None: ...

    def seal(self, meta: Mapping[str, Any], chunks: int, unit: str) -> dict: ...

    def info(self, sha256: str) -> dict | None: ...

    def chunk(self, sha256: str, index: int) -> bytes | None: ...


def open_store(env: Mapping[str, str] | None) -> EvidenceStore:
    """PostgreSQL rows in tracking's schema when tracking stores its events there, else files
    next to its SQLite store (or under ZHAOSHANG_VAR)."""
    env = env or {}
    if env.get("PERSISTENCE_MODULE") == POSTGRES or "POSTGRES_DBNAME" in env:
        return PostgresEvidence(env)
    sqlite = env.get("SQLITE_DBNAME", "")
    base = Path(sqlite).parent if sqlite and sqlite != ":memory:" else var_dir(os.environ)
    return FileEvidence(base / "evidence")


def _described(meta: Mapping[str, Any], units: list[str]) -> dict:
    return {
        "sha256": meta["sha256"],
        "name": meta["name"],
        "media_type": meta["media_type"],
        "size": int(meta["size"]),
        "chunks": int(meta["chunks"]),
        "uploaded_by": sorted(set(units)),
    }


def _check(meta: Mapping[str, Any], pieces: Iterator[bytes | None]) -> None:
    digest, size = hashlib.sha256(), 0
    for piece in pieces:
        if piece is None:
            raise SealFailed("a chunk is missing")
        digest.update(piece)
        size += len(piece)
    if digest.hexdigest() != meta["sha256"] or size != meta["size"]:
        raise SealFailed("the chunks are not the file announced")


class FileEvidence:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def _dir(self, sha256: str) -> Path:
        return self.root / sha256

    def put_chunk(self, sha256: str, index: int, data: bytes) -> None:
        folder = self._dir(sha256)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{index:04d}.chunk"
        if not target.exists():
            partial = target.with_suffix(".part")
            partial.write_bytes(data)
            partial.replace(target)

    def seal(self, meta: Mapping[str, Any], chunks: int, unit: str) -> dict:
        sha256 = meta["sha256"]
        with self._lock:
            known = self.info(sha256)
            if known is None:
                _check(meta, (self.chunk(sha256, i) for i in range(chunks)))
                known = _described({**meta, "chunks": chunks}, [])
            known = _described(known, [*known["uploaded_by"], unit])
            manifest = self._dir(sha256) / "file.json"
            partial = manifest.with_suffix(".part")
            partial.write_text(json.dumps(known, ensure_ascii=False), encoding="utf-8")
            partial.replace(manifest)
            return known

    def info(self, sha256: str) -> dict | None:
        manifest = self._dir(sha256) / "file.json"
        if not manifest.exists():
            return None
        return dict(json.loads(manifest.read_text(encoding="utf-8")))

    def chunk(self, sha256: str, index: int) -> bytes | None:
        path = self._dir(sha256) / f"{index:04d}.chunk"
        return path.read_bytes() if path.exists() else None


TABLES = (
    "CREATE TABLE IF NOT EXISTS {schema}.evidence_chunks (sha256 text NOT NULL, "
    "idx integer NOT NULL, data bytea NOT NULL, PRIMARY KEY (sha256, idx))",
    "CREATE TABLE IF NOT EXISTS {schema}.evidence_files (sha256 text PRIMARY KEY, "
    "name text NOT NULL, media_type text NOT NULL, size bigint NOT NULL, "
    "chunks integer NOT NULL, sealed_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS {schema}.evidence_uploaders (sha256 text NOT NULL, "
    "unit text NOT NULL, PRIMARY KEY (sha256, unit))",
)


class PostgresEvidence:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.parameters: dict[str, Any] = {
            "dbname": env["POSTGRES_DBNAME"],
            "host": env["POSTGRES_HOST"],
            "port": env["POSTGRES_PORT"],
            "user": env["POSTGRES_USER"],
            "password": env.get("POSTGRES_PASSWORD") or None,
            **tls_parameters(env),
        }
        self.schema = sql.Identifier(env.get("POSTGRES_SCHEMA", "tracking"))
        # CREATE_TABLE=n (ZHAOSHANG_CREATE_TABLES): the schema's owner made the tables (TABLES).
        self._ready = env.get("CREATE_TABLE", "y").lower() in ("n", "no", "false", "0")

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        with psycopg.connect(**self.parameters) as conn:
            if not self._ready:
                for statement in TABLES:
                    conn.execute(sql.SQL(statement).format(schema=self.schema))
                self._ready = True
            yield conn

    def _sql(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(schema=self.schema)

    def put_chunk(self, sha256: str, index: int, data: bytes) -> None:
        with self._connection() as conn:
            conn.execute(
                self._sql(
                    "INSERT INTO {schema}.evidence_chunks (sha256, idx, data) VALUES (%s, %s, %s) "
                    "ON CONFLICT DO NOTHING"
                ),
                [sha256, index, data],
            )

    def seal(self, meta: Mapping[str, Any], chunks: int, unit: str) -> dict:
        sha256 = meta["sha256"]
        if self.info(sha256) is None:
            _check(meta, (self.chunk(sha256, i) for i in range(chunks)))
        with self._connection() as conn:
            conn.execute(
                self._sql(
                    "INSERT INTO {schema}.evidence_files (sha256, name, media_type, size, chunks) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
                ),
                [sha256, meta["name"], meta["media_type"], meta["size"], chunks],
            )
            conn.execute(
                self._sql(
                    "INSERT INTO {schema}.evidence_uploaders (sha256, unit) VALUES (%s, %s) "
                    "ON CONFLICT DO NOTHING"
                ),
                [sha256, unit],
            )
        known = self.info(sha256)
        assert known is not None  # just written
        return known

    def info(self, sha256: str) -> dict | None:
        with self._connection() as conn:
            row = conn.execute(
                self._sql(
                    "SELECT sha256, name, media_type, size, chunks FROM {schema}.evidence_files "
                    "WHERE sha256 = %s"
                ),
                [sha256],
            ).fetchone()
            if row is None:
                return None
            units = conn.execute(
                self._sql("SELECT unit FROM {schema}.evidence_uploaders WHERE sha256 = %s"),
                [sha256],
            ).fetchall()
        meta = dict(zip(("sha256", "name", "media_type", "size", "chunks"), row, strict=True))
        return _described(meta, [u for (u,) in units])

    def chunk(self, sha256: str, index: int) -> bytes | None:
        with self._connection() as conn:
            row = conn.execute(
                self._sql(
                    "SELECT data FROM {schema}.evidence_chunks WHERE sha256 = %s AND idx = %s"
                ),
                [sha256, index],
            ).fetchone()
        return None if row is None else bytes(row[0])
