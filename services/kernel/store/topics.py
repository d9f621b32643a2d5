"""Stored topics of event classes that moved: a stored event names its class by topic
(`module:Class.Event`), so a class moved to another module keeps answering to its old topic.

Each moved module registers its old name here when it is imported; `topics_of` gives the topics
under which a class's events may be stored, for reads that select rows by topic (refusals,
checkpoints). Old names stay registered for as long as a store written before the move may be
read: they are part of the stored data, like the ids' namespace (contract/ids.py).
"""

from __future__ import annotations

import sys

from eventsourcing.utils import get_topic, register_topic

# old module -> the module its classes live in now (the reorganization of the shared kernel)
MOVED_MODULES: dict[str, str] = {
    "services.common.reports": "services.kernel.ingest.reports",
    "services.common.refusals": "services.kernel.ingest.refusals",
    "services.common.audit": "services.kernel.store.audit",
}


def answer_to_old_names(module_name: str) -> None:
    """Let stored topics naming `module_name`'s old names resolve to it (call at its import)."""
    for old, new in MOVED_MODULES.items():
        if new == module_name:
            register_topic(old, sys.modules[module_name])


def topics_of(cls: type) -> list[str]:
    """Every topic a stored event of `cls` may carry: its own, then its module's old names."""
    module, _, qualname = get_topic(cls).partition(":")
    return [get_topic(cls)] + [
        f"{old}:{qualname}" for old, new in MOVED_MODULES.items() if new == module
    ]
