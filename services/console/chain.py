"""Whether a project's events are in their stores' signed logs, checked here in the console
as an auditor checks them (README "How an auditor verifies"): each store's latest signed tree
head against the deployment's published keyring, and each event of the project's history
against that head by its RFC 9162 inclusion proof (Audit.GetTreeHead, Audit.GetInclusionProof;
the office's and auditors' calls). An event recorded after the latest head is not yet covered:
said so, never counted as verified."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import grpc

from services.console.gateway import PersonClient
from zhaoshang.proofs import Keyring, inclusion_holds, leaf_hash

HELD, BROKEN, PENDING = "held", "broken", "pending"


def keyring(path: str) -> Keyring | None:
    """The published keyring, read again when the file changes (a rotation adds a key)."""
    try:
        changed = Path(path).stat().st_mtime_ns
    except OSError:
        return None
    return _keyring(path, changed)


@cache
def _keyring(path: str, changed: int) -> Keyring | None:
    try:
        return Keyring.load(Path(path))
    except (OSError, ValueError, KeyError):
        return None


@dataclass(frozen=True)
class EventCheck:
    event_id: str
    type: str
    store: str
    outcome: str  # held, broken, pending
    position: int | None  # the event's notification id in its store


@dataclass(frozen=True)
class ChainCheck:
    heads: list[dict]  # the heads used: store, size, time, signed
    events: list[EventCheck]

    @property
    def verdict(self) -> str:
        """broken if anything fails, pending if something is not yet covered, else held."""
        outcomes = {e.outcome for e in self.events} | {
            HELD if h["signed"] else BROKEN for h in self.heads
        }
        return BROKEN if BROKEN in outcomes else (PENDING if PENDING in outcomes else HELD)

    def count(self, outcome: str) -> int:
        return sum(1 for e in self.events if e.outcome == outcome)


Prover = Callable[[str, str, int], dict | None]  # (store, event id, tree size) -> proof


def check_chain(
    history: list[dict], heads: dict[str, dict], ring: Keyring, prove: Prover
) -> ChainCheck:
    """Each event of `history` against its store's head in `heads` (None from `prove`: the
    event is not in the tree of that size yet)."""
    used = {e["service"] for e in history}
    signed = {store: ring.signed(heads[store]) for store in used if store in heads}
    checks = []
    for entry in history:
        store, head = entry["service"], heads.get(entry["service"])
        proof = prove(store, entry["event_id"], head["size"]) if head else None
        if head is None or proof is None:
            checks.append(EventCheck(entry["event_id"], entry["type"], store, PENDING, None))
            continue
        holds = signed[store] and proof_holds(proof, head, entry["event_id"])
        checks.append(
            EventCheck(
                entry["event_id"],
                entry["type"],
                store,
                HELD if holds else BROKEN,
                proof["notification_id"],
            )
        )
    shown = [
        {"store": s, "size": heads[s]["size"], "time": heads[s]["time"], "signed": signed[s]}
        for s in sorted(signed)
    ]
    return ChainCheck(shown, checks)


def proof_holds(proof: dict, head: dict, event_id: str) -> bool:
    """The leaf is the stored event made from this report, and its path folds into the head's
    root."""
    data: bytes = proof["leaf_data"]
    leaf = leaf_hash(data)
    return (
        leaf.hex() == proof["leaf_hash"]
        and event_id.encode() in data
        and proof["tree_size"] == head["size"]
        and inclusion_holds(
            proof["leaf_index"],
            proof["tree_size"],
            leaf,
            [bytes.fromhex(p) for p in proof["path"]],
            bytes.fromhex(head["root"]),
        )
    )


def prover(client: PersonClient) -> Prover:
    """Audit.GetInclusionProof through a PersonClient; None when the event is not in the
    tree of that size (NOT_FOUND)."""

    def prove(store: str, event_id: str, size: int) -> dict | None:
        try:
            return client.inclusion_proof(store, event_id=event_id, tree_size=size)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise

    return prove
