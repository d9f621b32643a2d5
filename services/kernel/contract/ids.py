"""Aggregate ids derived from outside keys with uuid5, so a redelivered report lands on the same
aggregate in every replica and every rebuild (docs/ARCHITECTURE.md "Identities").

Changing `NAMESPACE` or a prefix would orphan every stored aggregate: both are part of the
stored data, not configuration.
"""

from __future__ import annotations

import uuid
from functools import lru_cache

NAMESPACE = uuid.UUID("6f1c5a3e-2b7d-5e4a-9c21-8d0b4e7f3a62")


@lru_cache(maxsize=1 << 14)  # a batch names each of its aggregates several times (bounded:
# a process lives through millions of reports)
def named_id(prefix: str, key: str) -> uuid.UUID:
    """The id of the aggregate named `key` among those of kind `prefix`."""
    return uuid.uuid5(NAMESPACE, f"{prefix}:{key}")


def project_id(project_code: str) -> uuid.UUID:
    return named_id("project", project_code)


def receipt_id(event_id: str | uuid.UUID) -> uuid.UUID:
    """The receipt of one report; a str and a UUID of the same event give the same id."""
    key = str(event_id) if isinstance(event_id, uuid.UUID) else str(uuid.UUID(event_id))
    return named_id("receipt", key)


def leader_id(key: str) -> uuid.UUID:
    return named_id("leader", key)


def milestones_id(project_code: str) -> uuid.UUID:
    return named_id("milestones", project_code)


def circular_id(ranking_hash: str) -> uuid.UUID:
    return named_id("circular", ranking_hash)
