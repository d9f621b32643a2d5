"""Signed tree heads and the proofs an auditor checks them with (README "How an auditor
verifies").

A head says: store S's log, its first `size` events, has Merkle root `root` (merkle.py), as
of `time`; signed with Ed25519 (signing.py) over the bytes

    zhaoshang-tree-head-v1\\n<store>\\n<size>\\n<root hex>\\n<time>\\n

`TreeKeeper` grows a store's tree and signs a head after each checkpoint (the writer's relay
thread, services/kernel/process/nameko_support.py) and when asked for a fresh one (at each
ranking publication, for the circular: services/notify/heads.py); the heads are kept in the
store's `tree_heads` table. Its answers are the store's side of the Audit calls GetTreeHead,
GetInclusionProof and GetConsistencyProof: plain dicts, hashes in hex.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from eventsourcing.persistence import Notification

from services.kernel.store import merkle
from services.kernel.store.environment import ServiceApplication
from services.kernel.store.merkle_store import MerkleLog
from services.kernel.store.signing import Signer

log = logging.getLogger(__name__)

UUID_TEXT = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


def head_message(store: str, size: int, root: str, time: str) -> bytes:
    return f"zhaoshang-tree-head-v1\n{store}\n{size}\n{root}\n{time}\n".encode()


class NotFound(LookupError):
    """What an audit call asked for is not in the tree (yet)."""


class TreeKeeper:
    """One store's tree and its signed heads."""

    def __init__(
        self, app: ServiceApplication, store: str, signer: Callable[[], Signer] = Signer.load
    ) -> None:
        self.app, self.store = app, store
        self.tree = MerkleLog(app)
        self._signer = signer
        self._lock = threading.Lock()

    def sign_head(self) -> dict:
        """Grow the tree to the log's end and sign a head over it."""
        with self._lock:
            self.tree.advance()
            size = self.tree.size()
            root = self.tree.root(size).hex()
            time = datetime.now(UTC).isoformat(timespec="microseconds")
            signer = self._signer()
            head = {
                "store": self.store,
                "size": size,
                "root": root,
                "time": time,
                "key_id": signer.key_id,
                "signature": signer.sign(head_message(self.store, size, root, time)),
            }
            self.tree.tables.insert(
                "INSERT INTO {heads} (size, signed_at, root, key_id, signature) "
                "VALUES (?, ?, ?, ?, ?)",
                [(size, time, root, head["key_id"], head["signature"])],
            )
            return head

    def after_checkpoint(self) -> None:
        try:
            self.sign_head()
        except Exception:
            log.exception("signing a tree head of %s failed; trying at the next checkpoint",
                          self.store)  # fmt: skip

    def latest_head(self) -> dict | None:
        rows = self.tree.tables.rows(
            "SELECT size, signed_at, root, key_id, signature FROM {heads} "
            "ORDER BY size DESC, signed_at DESC LIMIT 1"
        )
        if not rows:
            return None
        size, time, root, key_id, signature = rows[0]
        return {"store": self.store, "size": int(size), "root": root, "time": time,
                "key_id": key_id, "signature": signature}  # fmt: skip

    def head(self, fresh: bool = False) -> dict:
        """The latest signed head, or a new one (`fresh`, or none signed yet)."""
        latest = None if fresh else self.latest_head()
        return latest if latest is not None else self.sign_head()

    # Proofs ------------------------------------------------------------------------------

    def _size(self, size: int) -> int:
        current = self.tree.size()
        if size <= 0:
            return current
        if size > current:
            raise NotFound(f"the tree of {self.store} has {current} leaves, not {size}")
        return size

    def inclusion(self, notification_id: int = 0, event_id: str = "", size: int = 0) -> dict:
        """The proof that an event (by notification id, or by its report's event id) is leaf
        `index` of the tree of `size` leaves (the latest head's size by default)."""
        if event_id:
            notification_id = self._notification_of(event_id)
        if size <= 0:
            latest = self.latest_head()
            size = latest["size"] if latest else self.sign_head()["size"]
        size = self._size(size)
        index = self.tree.index_of(notification_id)
        if index is None or index >= size:
            raise NotFound(f"notification {notification_id} of {self.store} is not in the tree "
                           f"of {size} leaves")  # fmt: skip
        leaf = self.tree.leaf(index)
        assert leaf is not None
        data = self.tree.leaf_bytes(notification_id) or b""
        return {
            "store": self.store,
            "notification_id": notification_id,
            "index": index,
            "size": size,
            "leaf_hash": leaf[1].hex(),
            "leaf_data": base64.b64encode(data).decode("ascii"),
            "root": self.tree.root(size).hex(),
            "path": [h.hex() for h in merkle.inclusion_proof(index, size, self.tree)],
        }

    def consistency(self, old: int, new: int = 0) -> dict:
        new = self._size(new)
        if not 0 < old <= new:
            raise NotFound(f"no consistency proof of {self.store} from {old} to {new} leaves")
        return {
            "store": self.store,
            "old_size": old,
            "new_size": new,
            "old_root": self.tree.root(old).hex(),
            "new_root": self.tree.root(new).hex(),
            "path": [h.hex() for h in merkle.consistency_proof(old, new, self.tree)],
        }

    def leaf_hashes(self, first: int, last: int) -> dict[int, str]:
        return self.tree.leaf_hashes(first, last)

    def read_leaves(self, start_index: int, after: int, limit: int) -> dict:
        """The log as stored now, from the notification after `after` on (at most `limit`
        rows): each row's canonical bytes (base64), with the tree's leaf hash at the position
        the auditor counts it at (`start_index` on). The auditor hashes the bytes itself: a row
        changed, deleted or moved after the tree took it in no longer matches."""
        rows = self.app.process_recorder.select_notifications(after + 1, limit)
        stored = self.tree.tables.rows(
            "SELECT idx, hash FROM {leaves} WHERE idx >= ? AND idx < ?",
            [start_index, start_index + len(rows)],
        )
        by_index = {int(i): bytes(h).hex() for i, h in stored}
        return {
            "store": self.store,
            "leaves": [
                {
                    "index": start_index + at,
                    "notification_id": n.id,
                    "data": base64.b64encode(_canonical(n)).decode("ascii"),
                    "tree_leaf_hash": by_index.get(start_index + at, ""),
                }
                for at, n in enumerate(rows)
            ],
        }

    def _notification_of(self, event_id: str) -> int:
        """The notification of the stored domain event a report with `event_id` became."""
        if not UUID_TEXT.match(event_id):
            raise NotFound(f"event_id {event_id!r} is not a UUID")
        tables = self.tree.tables
        needle = f'"event_id":"{event_id.lower()}"'
        events = "stored_events"
        if tables.postgres:
            events = f'"{tables.datastore.schema}".{tables.recorder.events_table_name}'
            query = (f"SELECT notification_id FROM {events} WHERE position(?::bytea IN state) > 0 "
                     "ORDER BY notification_id LIMIT 1")  # fmt: skip
        else:
            query = (f"SELECT rowid FROM {events} WHERE instr(state, CAST(? AS BLOB)) > 0 "
                     "ORDER BY rowid LIMIT 1")  # fmt: skip
        rows = tables.rows(query, [needle.encode()])
        if not rows:
            raise NotFound(f"no event of {self.store} has event_id {event_id}")
        return int(rows[0][0])


def _canonical(n: Notification) -> bytes:
    return merkle.event_bytes(n.id, n.originator_id, n.originator_version, n.topic, n.state)


def keeper(app: ServiceApplication, store: str) -> TreeKeeper:
    """The application's one TreeKeeper (made on first use)."""
    found = app.__dict__.get("_tree_keeper")
    if found is None:
        found = app.__dict__.setdefault("_tree_keeper", TreeKeeper(app, store))
    return found
