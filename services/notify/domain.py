"""Notify's domain: that a ranking's circular (通报) was written, once per published ranking."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.common import ids


class Circular(Aggregate):
    @staticmethod
    def create_id(ranking_hash: str, **_: Any) -> UUID:
        return ids.circular_id(ranking_hash)

    @event("Written")
    def __init__(self, ranking_hash: str, quarter: str, policy_version: str, files: list) -> None:
        self.ranking_hash = ranking_hash
        self.quarter = quarter
        self.policy_version = policy_version
        self.files = files
