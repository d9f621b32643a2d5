"""The stores' Merkle tree (services/kernel/store/merkle.py) against RFC 9162 written out here
from the RFC's text: the tree hash MTH (§2.1.1), and the verification of inclusion (§2.1.3.2)
and consistency (§2.1.4.2) proofs. Nothing of the production code is used to check it."""

from __future__ import annotations

import hashlib
import itertools

import pytest

from services.kernel.store import merkle
from zhaoshang import proofs


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, by its recursive definition (leaves are entries, not hashes)."""
    n = len(leaves)
    if n == 0:
        return sha(b"")
    if n == 1:
        return sha(b"\x00" + leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return sha(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def rfc_verify_inclusion(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes):
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = sha(b"\x01" + p + r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn //= 2
                    sn //= 2
        else:
            r = sha(b"\x01" + r + p)
        fn //= 2
        sn //= 2
    return sn == 0 and r == root


def rfc_verify_consistency(first: int, second: int, h1: bytes, h2: bytes, path: list[bytes]):
    if not path:
        return False
    path = list(path)
    if first & (first - 1) == 0:
        path = [h1, *path]
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn //= 2
        sn //= 2
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = sha(b"\x01" + c + fr)
            sr = sha(b"\x01" + c + sr)
            while fn % 2 == 0 and fn != 0:
                fn //= 2
                sn //= 2
        else:
            sr = sha(b"\x01" + sr + c)
        fn //= 2
        sn //= 2
    return fr == h1 and sr == h2 and sn == 0


class DictNodes:
    """The perfect nodes as the store keeps them, in a dict."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.reads = 0

    def get_nodes(self, keys):
        keys = list(keys)
        self.reads += 1
        return {k: self.nodes[k] for k in keys if k in self.nodes}


def build(entries: list[bytes], batches: int = 3) -> DictNodes:
    """The tree grown in several appends, each from the frontier as loaded from the nodes."""
    store = DictNodes()
    step = max(1, len(entries) // batches)
    bounds = sorted({*range(0, len(entries), step), len(entries)})
    for start, end in itertools.pairwise(bounds):
        appender = merkle.Appender.load(start, store)
        store.nodes.update(appender.add([merkle.leaf_hash(e) for e in entries[start:end]]))
    return store


ENTRIES = [f"event {i}".encode() for i in range(70)]


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 64, 70])
def test_the_root_of_every_size_is_the_rfc_tree_hash(size):
    store = build(ENTRIES[:size])

    assert merkle.root(size, store) == mth(ENTRIES[:size])
    if size:
        assert merkle.Appender.load(size, store).root() == mth(ENTRIES[:size])


def test_a_tree_grown_leaf_by_leaf_has_every_earlier_root_too():
    store = build(ENTRIES, batches=len(ENTRIES))

    for size in range(len(ENTRIES) + 1):
        assert merkle.root(size, store) == mth(ENTRIES[:size]), size


def test_every_inclusion_proof_verifies_by_the_rfc_and_fails_for_another_leaf():
    store = build(ENTRIES)
    for size in (1, 2, 3, 6, 8, 13, 32, 70):
        root = mth(ENTRIES[:size])
        for index in range(size):
            path = merkle.inclusion_proof(index, size, store)
            leaf = sha(b"\x00" + ENTRIES[index])
            assert rfc_verify_inclusion(index, size, leaf, path, root), (index, size)
            other = sha(b"\x00" + ENTRIES[(index + 1) % len(ENTRIES)])
            assert not rfc_verify_inclusion(index, size, other, path, root)
            assert len(path) <= (size - 1).bit_length()


def test_every_consistency_proof_verifies_by_the_rfc_and_fails_for_a_rewritten_past():
    store = build(ENTRIES)
    rewritten = [*ENTRIES[:5], b"rewritten", *ENTRIES[6:]]
    for old in range(1, 40):
        for new in range(old + 1, 71, 7):
            path = merkle.consistency_proof(old, new, store)
            h1, h2 = mth(ENTRIES[:old]), mth(ENTRIES[:new])
            assert rfc_verify_consistency(old, new, h1, h2, path), (old, new)
            if old > 5:
                assert not rfc_verify_consistency(old, new, mth(rewritten[:old]), h2, path)


def test_a_proof_reads_its_nodes_in_one_lookup_and_few_of_them():
    store = build([f"e{i}".encode() for i in range(1000)])
    store.reads = 0

    path = merkle.inclusion_proof(617, 1000, store)

    assert store.reads == 1
    assert len(path) == 10


def test_a_tree_not_built_that_far_says_so():
    store = build(ENTRIES[:10])

    with pytest.raises(LookupError):
        merkle.root(11, store)
    with pytest.raises(ValueError):
        merkle.inclusion_proof(10, 10, store)


def test_the_leaf_is_the_stored_event_with_its_place_in_the_log():
    one = merkle.event_bytes(7, "agg", 2, "m:T.E", b'{"x":1}')
    moved = merkle.event_bytes(8, "agg", 2, "m:T.E", b'{"x":1}')

    assert one.endswith(b'{"x":1}') and one != moved
    assert merkle.leaf_hash(one) == sha(b"\x00" + one)
    assert merkle.node_hash(b"a", b"b") == sha(b"\x01ab")


def test_the_auditors_checks_agree_with_the_rfc_on_good_and_bad_proofs():
    """zhaoshang/proofs.py, what the auditor's command runs, against the same proofs."""
    store = build(ENTRIES)
    for size in (1, 5, 8, 70):
        builder = proofs.RootBuilder()
        for entry in ENTRIES[:size]:
            builder.add(proofs.leaf_hash(entry))
        assert builder.root() == mth(ENTRIES[:size])
        for index in range(0, size, 3):
            path = merkle.inclusion_proof(index, size, store)
            leaf = proofs.leaf_hash(ENTRIES[index])
            assert proofs.inclusion_holds(index, size, leaf, path, mth(ENTRIES[:size]))
            if path:
                assert not proofs.inclusion_holds(index, size, leaf, path[:-1], mth(ENTRIES[:size]))
    for old, new in ((1, 2), (3, 7), (4, 70), (13, 64)):
        path = merkle.consistency_proof(old, new, store)
        h1, h2 = mth(ENTRIES[:old]), mth(ENTRIES[:new])
        assert proofs.consistency_holds(old, new, h1, h2, path)
        assert not proofs.consistency_holds(old, new, h2, h1, path)
        assert not proofs.consistency_holds(old, new, mth(ENTRIES[1 : old + 1]), h2, path)
