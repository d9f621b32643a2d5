"""Each store's Merkle tree and signed heads (services/kernel/store/heads.py) on SQLite and
PostgreSQL: built once over a log that exists, grown after, heads that verify with the published
keyring (also after the key is rotated), proofs that the auditor's checks accept, and a log row
changed afterwards no longer matching the tree."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.kernel.contract.report import validate_report
from services.kernel.store import signing
from services.kernel.store.audit import CheckpointSealer
from services.kernel.store.environment import store_env as service_store_env
from services.kernel.store.heads import NotFound, TreeKeeper
from services.registry.application import RegistryApplication
from tools.demo import generate_demo
from zhaoshang.proofs import Keyring, consistency_holds, inclusion_holds, leaf_hash


def proposals(count: int, first: int = 0) -> list[dict]:
    template = next(r for r in generate_demo("2020Q3") if r["type"] == "project.proposed")
    return [
        {
            **template,
            "event_id": str(uuid.uuid4()),
            "payload": {**template["payload"], "project_code": f"TREE-{i}"},
        }
        for i in range(first, first + count)
    ]


@pytest.fixture
def keys(tmp_path) -> dict[str, str]:
    environ = {
        "ZHAOSHANG_VAR": str(tmp_path / "var"),
        signing.KEY_ENV: str(tmp_path / "secret" / "tree-head.key"),
        signing.KEYRING_ENV: str(tmp_path / "public" / "keyring.json"),
    }
    signing.ensure_key(environ)
    return environ


@pytest.fixture
def app(store_env, tmp_path) -> Iterator[RegistryApplication]:
    env = service_store_env("registry", {**store_env, "ZHAOSHANG_VAR": str(tmp_path / "var")})
    application = RegistryApplication(env)
    yield application
    application.close()


def ingest(app: RegistryApplication, reports: list[dict]) -> None:
    outcomes = app.ingest([validate_report(r) for r in reports])
    assert {o["status"] for o in outcomes} == {"accepted"}, outcomes


def keeper_of(app, keys) -> TreeKeeper:
    return TreeKeeper(app, "registry", lambda: signing.Signer.load(keys))


def test_heads_over_a_growing_log_are_signed_consistent_and_prove_each_event(app, keys):
    first = proposals(12)
    ingest(app, first)  # a log that exists before the tree: built once over it
    assert CheckpointSealer(app).seal()
    keeper = keeper_of(app, keys)
    old = keeper.sign_head()
    ingest(app, proposals(7, first=100))
    assert CheckpointSealer(app).seal()
    new = keeper.head(fresh=True)
    ring = Keyring.load(Path(keys[signing.KEYRING_ENV]))

    assert old["size"] == 2 * 12 + 2 and new["size"] > old["size"]  # events, receipts, checkpoint
    assert ring.signed(old) and ring.signed(new)
    assert not ring.signed({**old, "size": old["size"] - 1})
    assert keeper.latest_head() == new

    step = keeper.consistency(old["size"], new["size"])
    assert consistency_holds(
        old["size"], new["size"], bytes.fromhex(old["root"]), bytes.fromhex(new["root"]),
        [bytes.fromhex(p) for p in step["path"]],
    )  # fmt: skip

    proof = keeper.inclusion(event_id=first[5]["event_id"], size=new["size"])
    data = base64.b64decode(proof["leaf_data"])
    assert first[5]["event_id"].encode() in data
    assert inclusion_holds(
        proof["index"], new["size"], leaf_hash(data),
        [bytes.fromhex(p) for p in proof["path"]], bytes.fromhex(new["root"]),
    )  # fmt: skip
    with pytest.raises(NotFound):
        keeper.inclusion(event_id=str(uuid.uuid4()))

    hashes = keeper.leaf_hashes(1, new["size"])
    leaves = keeper.read_leaves(0, 0, 1000)["leaves"]
    assert len(leaves) == new["size"] == len(hashes)
    assert all(
        leaf["tree_leaf_hash"] == leaf_hash(base64.b64decode(leaf["data"])).hex() for leaf in leaves
    )


def test_a_head_signed_before_a_key_rotation_still_verifies_by_its_key_id(app, keys):
    ingest(app, proposals(3))
    keeper = keeper_of(app, keys)
    before = keeper.sign_head()

    new_key_id = signing.rotate(keys)
    after = keeper.head(fresh=True)
    ring = Keyring.load(Path(keys[signing.KEYRING_ENV]))

    assert before["key_id"] != new_key_id == after["key_id"]
    assert ring.signed(before) and ring.signed(after)
    assert set(ring.keys) == {before["key_id"], after["key_id"]}
    forged = {**before, "key_id": after["key_id"]}  # the old signature under the new key's id
    assert not ring.signed(forged)


def test_a_missing_signing_key_is_named_and_nothing_is_signed(app, tmp_path):
    keeper = TreeKeeper(
        app, "registry", lambda: signing.Signer.load({signing.KEY_ENV: str(tmp_path / "none")})
    )

    with pytest.raises(FileNotFoundError, match="ZHAOSHANG_SIGNING_KEY"):
        keeper.sign_head()
    assert keeper.latest_head() is None


def test_make_runs_signing_key_is_made_once_under_var_and_kept_across_restarts(tmp_path):
    environ = {"ZHAOSHANG_VAR": str(tmp_path / "var")}

    first = signing.ensure_key(environ)
    key = signing.key_path(environ).read_bytes()
    again = signing.ensure_key(environ)  # the next `make run`

    assert first == again == signing.Signer.load(environ).key_id
    assert signing.key_path(environ).read_bytes() == key
    assert signing.key_path(environ) == tmp_path / "var" / "signing" / "tree-head.key"
    assert signing.key_path(environ).stat().st_mode & 0o077 == 0  # the owner's alone
    ring = Keyring.load(signing.keyring_path(environ))
    assert list(ring.keys) == [first]


def test_the_tree_grown_a_few_leaves_at_a_time_has_the_root_of_the_whole_log(app):
    """On PostgreSQL the leaves are hashed in the database (merkle_store.py): the same bytes,
    the same hashes as an auditor's, whatever the page."""
    from services.kernel.store.merkle import Appender, event_bytes
    from services.kernel.store.merkle_store import MerkleLog

    ingest(app, proposals(9))
    tree = MerkleLog(app)
    assert tree.advance(page=4) == 18
    ingest(app, proposals(4, first=50))
    assert tree.advance(page=3) == 8

    notifications = app.process_recorder.select_notifications(1, 1000)
    expected = Appender(0, {})
    expected.add(
        leaf_hash(event_bytes(n.id, n.originator_id, n.originator_version, n.topic, n.state))
        for n in notifications
    )
    assert tree.size() == len(notifications) == 26
    assert tree.root(26) == expected.root()
