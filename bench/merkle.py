"""`merkle_ingest_events_per_s`, `merkle_tree_leaves_per_s`, `merkle_inclusion_proof_bytes`,
`merkle_consistency_proof_bytes`: what the stores' Merkle trees (services/kernel/store/heads.py)
cost, and how large their proofs are for a log of 1,000,000 events.

- Ingest with the tree: registry's application (as its nameko entrypoint calls it, no bus or
  gRPC) takes INGEST_REPORTS project proposals in batches of 1,000 into a SQLite store, and after
  each batch the tree takes in what was stored (`MerkleLog.advance`, as the relay thread does
  after each checkpoint). Baseline, in the same run: the same reports into another store without
  the tree. The figure is stored events per second.
- The tree alone at 1,000,000 leaves: leaves of 1 KiB events hashed and appended
  (merkle.Appender, every perfect node it completes kept, as the store's tables keep them), then
  an inclusion proof of a leaf in the middle and a consistency proof from 999,000 leaves, with
  their sizes in bytes (hashes of 32 bytes) and the time to make them from the kept nodes.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from typing import Any

from services.kernel.store import merkle

NAME = "merkle"
INGEST_REPORTS = 20_000
BATCH = 1_000
LEAVES = 1_000_000
EVENT_BYTES = 1024


class _Nodes:
    def __init__(self) -> None:
        self.nodes: dict[merkle.Key, bytes] = {}

    def get_nodes(self, keys: Any) -> dict[merkle.Key, bytes]:
        return {k: self.nodes[k] for k in keys if k in self.nodes}


def _ingest_rate(with_tree: bool, reports: list[dict]) -> float:
    from services.kernel.contract.report import validate_report
    from services.kernel.store.environment import store_env
    from services.kernel.store.merkle_store import MerkleLog
    from services.registry.application import RegistryApplication

    with tempfile.TemporaryDirectory() as var:
        app = RegistryApplication(store_env("registry", {**os.environ, "ZHAOSHANG_VAR": var}))
        tree = MerkleLog(app) if with_tree else None
        started = time.perf_counter()
        for at in range(0, len(reports), BATCH):
            app.ingest([validate_report(r) for r in reports[at : at + BATCH]])
            if tree is not None:
                tree.advance()
        elapsed = time.perf_counter() - started
        events = app.process_recorder.max_notification_id() or 0
        if tree is not None:
            assert tree.size() == events
        app.close()
    return events / elapsed


def _proposals(count: int) -> list[dict]:
    from tools.demo import generate_demo

    template = next(r for r in generate_demo("2020Q3") if r["type"] == "project.proposed")
    return [
        {
            **template,
            "event_id": str(uuid.uuid4()),
            "payload": {**template["payload"], "project_code": f"BENCH-{i}"},
        }
        for i in range(count)
    ]


def run() -> list[dict[str, Any]]:
    reports = _proposals(INGEST_REPORTS)
    without = _ingest_rate(False, reports)
    with_tree = _ingest_rate(True, reports)

    nodes = _Nodes()
    appender = merkle.Appender(0, {})
    event = os.urandom(EVENT_BYTES)
    started = time.perf_counter()
    for at in range(0, LEAVES, 10_000):
        leaves = [merkle.leaf_hash(i.to_bytes(8, "big") + event) for i in range(at, at + 10_000)]
        nodes.nodes.update(appender.add(leaves))
    tree_rate = LEAVES / (time.perf_counter() - started)
    started = time.perf_counter()
    inclusion = merkle.inclusion_proof(LEAVES // 2 + 1, LEAVES, nodes)
    consistency = merkle.consistency_proof(LEAVES - 1_000, LEAVES, nodes)
    proofs_ms = (time.perf_counter() - started) * 1000
    assert merkle.root(LEAVES, nodes) == appender.root()
    return [
        {
            "name": "merkle_ingest_events_per_s",
            "value": round(with_tree),
            "unit": "events/s",
            "baseline": round(without),
            "ratio": round(with_tree / without, 3),
            "note": f"{INGEST_REPORTS} reports into SQLite, the tree grown after each batch",
        },
        {
            "name": "merkle_tree_leaves_per_s",
            "value": round(tree_rate),
            "unit": "leaves/s",
            "baseline": None,
            "ratio": None,
            "note": f"{LEAVES} leaves of {EVENT_BYTES}-byte events, hashed and appended",
        },
        {
            "name": "merkle_inclusion_proof_bytes",
            "value": 32 * len(inclusion),
            "unit": "bytes",
            "baseline": None,
            "ratio": None,
            "note": f"{len(inclusion)} hashes, a tree of {LEAVES} leaves; both proofs made "
            f"in {proofs_ms:.1f} ms from the kept nodes",
        },
        {
            "name": "merkle_consistency_proof_bytes",
            "value": 32 * len(consistency),
            "unit": "bytes",
            "baseline": None,
            "ratio": None,
            "note": f"{len(consistency)} hashes, from {LEAVES - 1_000} to {LEAVES} leaves",
        },
    ]
