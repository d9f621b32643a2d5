"""`zhaoshang audit verify --against` a circular published before, against a store someone
with write access to its database changed afterwards (tests/tamper.py), on SQLite and
PostgreSQL: (1) a past event rewritten with its hash chain and every checkpoint recomputed — the
store's own verification sees nothing; (2) the last events deleted with their checkpoints;
(3) two events swapped; (4) a hash inside an event swapped (a receipt's content digest here;
tests/e2e/test_tamper_evidence.py swaps a 佐证材料 file's). Each is found, naming the store and
the position; untouched, or put back, the check passes.

The Audit calls the check makes are answered here by the store's TreeKeeper in process, shaped
as the gateway answers them (tests/e2e/test_tamper_evidence.py runs the same through gRPC)."""

from __future__ import annotations

import argparse
import base64
import io
import re
from datetime import date
from pathlib import Path

import pytest

from services.kernel.contract.report import validate_report
from services.kernel.store import signing
from services.kernel.store.audit import CheckpointSealer, verify_log
from services.kernel.store.environment import store_env as service_store_env
from services.kernel.store.heads import TreeKeeper
from services.notify.rendering import render
from services.registry.application import RegistryApplication
from tests.integration.test_audit_tamper import reports
from tests.notify_support import make_ranking, ranking_hash
from tests.tamper import EventsTable
from zhaoshang import auditing


class InProcess:
    """The Audit calls of `verify --against`, answered by one store's keeper."""

    def __init__(self, keeper: TreeKeeper) -> None:
        self.keeper = keeper

    def tree_heads(self, store: str = "", fresh: bool = False) -> list[dict]:
        return [self.keeper.head(fresh)]

    def consistency_proof(self, store: str, old_size: int, new_size: int = 0) -> dict:
        return self.keeper.consistency(old_size, new_size)

    def read_leaves(self, store: str, start_index: int, after: int, limit: int = 500) -> list:
        page = self.keeper.read_leaves(start_index, after, limit)["leaves"]
        return [{**leaf, "data": base64.b64decode(leaf["data"])} for leaf in page]


class Published:
    """A registry store with a circular published over it, and more stored since."""

    def __init__(self, env: dict[str, str], keys: dict[str, str], circulars: Path) -> None:
        self.app = RegistryApplication(env)
        self.keeper = TreeKeeper(self.app, "registry", lambda: signing.Signer.load(keys))
        self.table = EventsTable(env, "registry")
        self.keyring = keys[signing.KEYRING_ENV]
        self.ingest(reports())
        ranking = make_ranking()
        ranking = {**ranking, "hash": ranking_hash(ranking)}
        heads = [self.keeper.head(fresh=True)]
        self.size = heads[0]["size"]
        self.circular = render(ranking, date(2020, 10, 12), heads).write(circulars)[0]
        proposed = reports()[0]  # stored after the publication: the log grew since
        self.ingest([{**proposed, "payload": {**proposed["payload"], "project_code": "AUDIT-9"}}])

    def ingest(self, batch: list[dict]) -> None:
        outcomes = self.app.ingest([validate_report(r) for r in batch])
        assert {o["status"] for o in outcomes} == {"accepted"}, outcomes
        assert CheckpointSealer(self.app).seal()
        self.keeper.after_checkpoint()

    def verify(self) -> tuple[int, str]:
        out = io.StringIO()
        args = argparse.Namespace(against=str(self.circular), keyring=self.keyring)
        status = auditing.verify_against(InProcess(self.keeper), args, out)  # type: ignore[arg-type]
        return status, out.getvalue()


@pytest.fixture
def store(store_env, tmp_path) -> Published:
    keys = {
        "ZHAOSHANG_VAR": str(tmp_path / "var"),
        signing.KEY_ENV: str(tmp_path / "secret" / "tree-head.key"),
        signing.KEYRING_ENV: str(tmp_path / "published" / "keyring.json"),
    }
    signing.ensure_key(keys)
    env = service_store_env("registry", {**store_env, "ZHAOSHANG_VAR": keys["ZHAOSHANG_VAR"]})
    published = Published(env, keys, tmp_path / "circulars")
    yield published
    published.app.close()


def positions(output: str) -> set[int]:
    return {int(p) for p in re.findall(r"\[registry\] 第 (\d+)", output)}


def test_an_untouched_store_extends_the_published_heads(store):
    status, output = store.verify()

    assert status == auditing.HOLDS, output
    assert "registry：前" in output and "all holds" in output


def test_a_past_event_rewritten_with_its_chain_and_checkpoints_recomputed_is_found(store):
    rows = store.table.rows()
    target = next(i for i, r in enumerate(rows) if r[3].endswith("Project.Signed"))
    n, aggregate, version, topic, state = rows[target]
    assert b'"3"' in state
    rows[target] = (n, aggregate, version, topic, state.replace(b'"3"', b'"30"', 1))

    store.table.forge(rows)
    status, output = store.verify()

    assert verify_log(store.app, "registry")["ok"]  # the store's own check sees nothing
    assert status == auditing.TAMPERED
    assert target in positions(output) and target < store.size


def test_the_last_events_deleted_with_their_checkpoints_are_found(store):
    rows = store.table.rows()
    cut = store.size - 3

    store.table.delete_from(rows[cut][0])
    store.table.delete_checkpoints()
    status, output = store.verify()

    assert status == auditing.TAMPERED
    assert "deleted" in output and positions(output)
    store.table.restore(rows)
    assert store.verify()[0] == auditing.HOLDS


def test_two_events_swapped_are_found_at_both_positions(store):
    rows = store.table.rows()
    first, second = 2, 7

    store.table.put((rows[first][0], *rows[second][1:]))
    store.table.put((rows[second][0], *rows[first][1:]))
    status, output = store.verify()

    assert status == auditing.TAMPERED
    assert {first, second} <= positions(output)


def test_a_hash_inside_an_event_swapped_is_found(store):
    rows = store.table.rows()
    receipt = next(i for i, r in enumerate(rows) if r[3].endswith("Receipt.Recorded"))
    n, aggregate, version, topic, state = rows[receipt]
    digest = re.search(rb'"digest":"([0-9a-f]{64})"', state)
    assert digest is not None

    store.table.put((n, aggregate, version, topic, state.replace(digest.group(1), b"f" * 64)))
    status, output = store.verify()

    assert status == auditing.TAMPERED
    assert positions(output) == {receipt}


def test_a_circular_whose_heads_a_forged_key_signed_cannot_be_checked(store, tmp_path):
    text = store.circular.read_text(encoding="utf-8")
    other = {
        "ZHAOSHANG_VAR": str(tmp_path / "other"),
        signing.KEY_ENV: str(tmp_path / "other" / "k"),
        signing.KEYRING_ENV: str(tmp_path / "other" / "ring.json"),
    }
    signing.ensure_key(other)
    store.keyring = other[signing.KEYRING_ENV]
    assert "ZSHEADS1:" in text

    with pytest.raises(auditing.CannotCheck):
        store.verify()
