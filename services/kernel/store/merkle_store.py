"""A store's Merkle tree (merkle.py) kept in the store's own database, beside its events, in
three append-only tables (the application's roles may insert and read them, never change them):

- `merkle_leaves (idx, notification_id, hash)`: leaf i is the i-th stored event of the
  notification log, in notification order (ids may have gaps; positions do not);
- `merkle_nodes (level, idx, hash)`: each perfect subtree above the leaves, once complete;
- `tree_heads (size, signed_at, root, key_id, signature)`: the signed tree heads (heads.py).

`MerkleLog.advance` adds what the log holds beyond the tree, a page at a time, each page in its
own transaction, from the frontier (built once over a log that exists when it first runs). It
runs after each checkpoint (the writer's sealing thread, services/kernel/process/
nameko_support.py), so the tree follows the log by about a second's events; a head covers what
it says it covers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

from services.kernel.store import merkle
from services.kernel.store.environment import ServiceApplication

PAGE = 5000

_TABLES = (
    "CREATE TABLE IF NOT EXISTS {leaves} (idx BIGINT PRIMARY KEY, "
    "notification_id BIGINT NOT NULL UNIQUE, hash {blob} NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {nodes} (level INTEGER NOT NULL, idx BIGINT NOT NULL, "
    "hash {blob} NOT NULL, PRIMARY KEY (level, idx))",
    "CREATE TABLE IF NOT EXISTS {heads} (size BIGINT NOT NULL, signed_at TEXT NOT NULL, "
    "root TEXT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL, "
    "PRIMARY KEY (size, signed_at))",
)


class TreeTables:
    """SQL on the tree's tables, on SQLite or PostgreSQL (the recorder's own connections)."""

    def __init__(self, app: ServiceApplication) -> None:
        self.recorder = cast(Any, app.recorder)  # SQLite or PostgreSQL: both have a datastore
        self.datastore: Any = self.recorder.datastore
        schema = getattr(self.datastore, "schema", None)
        self.postgres = schema is not None
        prefix = f'"{schema}".' if self.postgres else ""
        self.names = {
            "leaves": prefix + "merkle_leaves",
            "nodes": prefix + "merkle_nodes",
            "heads": prefix + "tree_heads",
            "blob": "BYTEA" if self.postgres else "BLOB",
        }
        self._created = False

    def _sql(self, statement: str) -> str:
        statement = statement.format(**self.names)
        return statement.replace("?", "%s") if self.postgres else statement

    @contextmanager
    def cursor(self, commit: bool = False) -> Iterator[Any]:
        self.create()
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def create(self) -> None:
        if self._created:
            return
        with self.datastore.transaction(commit=True) as cursor:
            for table, statement in zip(("leaves", "nodes", "heads"), _TABLES, strict=True):
                if self.postgres:  # made by the schema's owner where the role may not (roles.py)
                    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (self.names[table],))
                    row = cursor.fetchone()
                    if next(iter(row.values())):
                        continue
                cursor.execute(statement.format(**self.names))
        self._created = True

    def rows(self, statement: str, params: Sequence = ()) -> list[tuple]:
        with self.cursor() as cursor:
            cursor.execute(self._sql(statement), tuple(params))
            rows = cursor.fetchall()
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in rows]

    def insert(self, statement: str, rows: Sequence[Sequence]) -> None:
        if not rows:
            return
        with self.cursor(commit=True) as cursor:
            cursor.executemany(self._sql(statement + " ON CONFLICT DO NOTHING"), rows)

    def insert_nodes(self, nodes: Sequence[tuple[int, int, bytes]]) -> None:
        """(level, index, hash) rows; on PostgreSQL as three arrays in one statement (about
        one node a leaf: row by row, a second's nodes cost the writer more than its relay)."""
        if not self.postgres:
            self.insert("INSERT INTO {nodes} (level, idx, hash) VALUES (?, ?, ?)", nodes)
            return
        if not nodes:
            return
        levels, indexes, hashes = (list(column) for column in zip(*nodes, strict=True))
        with self.cursor(commit=True) as cursor:
            cursor.execute(
                self._sql(
                    "INSERT INTO {nodes} (level, idx, hash) SELECT * FROM "
                    "unnest(%s::integer[], %s::bigint[], %s::bytea[]) ON CONFLICT DO NOTHING"
                ),
                (levels, indexes, hashes),
            )


class MerkleLog:
    """One store's tree: its size, its nodes (merkle.Nodes), adding what the log holds more."""

    def __init__(self, app: ServiceApplication) -> None:
        self.app = app
        self.tables = TreeTables(app)
        self._lock = threading.Lock()

    # Reading ---------------------------------------------------------------------------

    def size(self) -> int:
        return self._end()[0]

    def get_nodes(self, keys: Iterable[merkle.Key]) -> Mapping[merkle.Key, bytes]:
        keys = list(keys)
        found: dict[merkle.Key, bytes] = {}
        leaves = [index for level, index in keys if level == 0]
        inner = [(level, index) for level, index in keys if level > 0]
        for chunk in _chunks(leaves, 500):
            marks = ",".join("?" * len(chunk))
            for index, hash_ in self.tables.rows(
                f"SELECT idx, hash FROM {{leaves}} WHERE idx IN ({marks})", chunk
            ):
                found[(0, int(index))] = bytes(hash_)
        for chunk in _chunks(inner, 250):
            where = " OR ".join("(level = ? AND idx = ?)" for _ in chunk)
            params = [value for key in chunk for value in key]
            for level, index, hash_ in self.tables.rows(
                f"SELECT level, idx, hash FROM {{nodes}} WHERE {where}", params
            ):
                found[(int(level), int(index))] = bytes(hash_)
        return found

    def root(self, size: int) -> bytes:
        return merkle.root(size, self)

    def leaf(self, index: int) -> tuple[int, bytes] | None:
        """(notification id, leaf hash) of leaf `index`."""
        rows = self.tables.rows("SELECT notification_id, hash FROM {leaves} WHERE idx = ?", [index])
        return (int(rows[0][0]), bytes(rows[0][1])) if rows else None

    def index_of(self, notification_id: int) -> int | None:
        rows = self.tables.rows(
            "SELECT idx FROM {leaves} WHERE notification_id = ?", [notification_id]
        )
        return int(rows[0][0]) if rows else None

    def leaf_hashes(self, first: int, last: int) -> dict[int, str]:
        """notification id -> leaf hash (hex) for the notifications first..last in the tree."""
        rows = self.tables.rows(
            "SELECT notification_id, hash FROM {leaves} WHERE notification_id BETWEEN ? AND ?",
            [first, last],
        )
        return {int(n): bytes(h).hex() for n, h in rows}

    def leaf_bytes(self, notification_id: int) -> bytes | None:
        """The stored event's canonical bytes, as they are in the log now."""
        found = self.app.process_recorder.select_notifications(
            notification_id, 1, stop=notification_id
        )
        if not found:
            return None
        n = found[0]
        return merkle.event_bytes(n.id, n.originator_id, n.originator_version, n.topic, n.state)

    # Growing ---------------------------------------------------------------------------

    def advance(self, page: int = PAGE) -> int:
        """Add every event the log holds beyond the tree; the number of leaves added."""
        with self._lock:
            added = 0
            head = self.app.process_recorder.max_notification_id() or 0
            size, last = self._end()
            appender = merkle.Appender.load(size, self)
            take = self._leaves_in_database if self.tables.postgres else self._leaves_here
            while last < head:
                leaves = take(appender.size, last, head, page)  # (notification id, hash)
                if not leaves:
                    break
                made = appender.add(h for _, h in leaves)
                self.tables.insert_nodes(
                    [(level, index, h) for (level, index), h in made if level > 0]
                )
                added += len(leaves)
                last = leaves[-1][0]
            return added

    def _leaves_here(self, size: int, last: int, head: int, page: int) -> list[tuple[int, bytes]]:
        """The next page of the log hashed here and stored as leaves `size` on."""
        notifications = self.app.process_recorder.select_notifications(last + 1, page, stop=head)
        leaves = [
            (n.id, merkle.leaf_hash(merkle.event_bytes(
                n.id, n.originator_id, n.originator_version, n.topic, n.state)))
            for n in notifications
        ]  # fmt: skip
        self.tables.insert(
            "INSERT INTO {leaves} (idx, notification_id, hash) VALUES (?, ?, ?)",
            [(size + i, n, h) for i, (n, h) in enumerate(leaves)],
        )
        return leaves

    def _leaves_in_database(
        self, size: int, last: int, head: int, page: int
    ) -> list[tuple[int, bytes]]:
        """As `_leaves_here`, PostgreSQL hashing each row where it lies (merkle.event_bytes and
        leaf_hash in SQL): the events are not sent over to be hashed, only the new leaves'
        hashes come back, to grow the nodes above them."""
        events = f'"{self.tables.datastore.schema}".{self.tables.recorder.events_table_name}'
        self.tables.insert(
            "INSERT INTO {leaves} (idx, notification_id, hash) "
            "SELECT ? - 1 + row_number() OVER (ORDER BY notification_id), notification_id, "
            "sha256('\\x00'::bytea || convert_to(concat('zhaoshang-event-v1', chr(10), "
            "notification_id, chr(10), originator_id, chr(10), originator_version, chr(10), "
            "topic, chr(10)), 'UTF8') || state) "
            f"FROM (SELECT * FROM {events} WHERE notification_id > ? AND notification_id <= ? "
            "ORDER BY notification_id LIMIT ?) AS page",
            [(size, last, head, page)],
        )
        rows = self.tables.rows(
            "SELECT notification_id, hash FROM {leaves} WHERE idx >= ? ORDER BY idx LIMIT ?",
            [size, page],
        )
        return [(int(n), bytes(h)) for n, h in rows]

    def _end(self) -> tuple[int, int]:
        """(leaves, the last leaf's notification id), from the last leaf: positions have no
        gaps, so its index says the count without counting the table."""
        rows = self.tables.rows(
            "SELECT idx, notification_id FROM {leaves} ORDER BY idx DESC LIMIT 1"
        )
        return (int(rows[0][0]) + 1, int(rows[0][1])) if rows else (0, 0)


def _chunks(items: list, size: int) -> Iterator[list]:
    for at in range(0, len(items), size):
        yield items[at : at + size]
