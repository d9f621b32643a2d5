"""Events stored before the shared kernel moved (services/common → services/kernel) still read
back as their classes, and reads that select rows by topic still find them."""

from __future__ import annotations

from eventsourcing.utils import get_topic, resolve_topic

from services.kernel.ingest.refusals import Refusal
from services.kernel.ingest.reports import Receipt
from services.kernel.store.audit import CHECKPOINT_TOPICS, Checkpoint
from services.kernel.store.topics import topics_of


def test_old_topics_resolve_to_the_moved_classes():
    assert resolve_topic("services.common.reports:Receipt.Recorded") is Receipt.Recorded
    assert resolve_topic("services.common.refusals:Refusal.Recorded") is Refusal.Recorded
    assert resolve_topic("services.common.audit:Checkpoint.Sealed") is Checkpoint.Sealed
    assert resolve_topic("services.common.reports:Receipt") is Receipt


def test_reads_by_topic_select_old_and_new_rows():
    assert topics_of(Refusal.Recorded) == [
        get_topic(Refusal.Recorded),
        "services.common.refusals:Refusal.Recorded",
    ]
    assert "services.common.audit:Checkpoint.Sealed" in CHECKPOINT_TOPICS
    assert get_topic(Checkpoint.Sealed) in CHECKPOINT_TOPICS
