"""A Merkle tree over a store's notification log, hashed as RFC 9162 (Certificate Transparency
2.0) §2.1 says: a leaf is SHA-256(0x00 || its bytes), an inner node SHA-256(0x01 || left ||
right), and the tree of n leaves splits at the largest power of two below n.

The tree is kept as its perfect subtrees: the node over leaves [i·2^l, (i+1)·2^l) is stored
once, at (level l, index i), when its last leaf is added, and never changes after (an
append-only table: merkle_store.py). Everything else, the root of any size and the nodes of a
proof, is made from these: the ranges a proof asks for always start at a multiple of their
largest power of two, so each splits into O(log n) stored nodes. Adding leaves needs only the
tree's right edge, its compact frontier (one stored node per set bit of the size).

This module is pure: `Nodes` is where the nodes come from. The proofs' checks, on an auditor's
machine, are in the client package (zhaoshang/proofs.py), not here.

Why not `pymerkle`: its trees keep their own storage (in memory, or a SQLite file of its own)
and recompute inner nodes from the leaves; a store's tree has to live in the store's own
database (SQLite or PostgreSQL, in the service's transaction and under its roles), written
insert-only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

LEAF, NODE = b"\x00", b"\x01"
Key = tuple[int, int]  # (level, index): the perfect subtree over leaves index·2^level ...


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE + left + right).digest()


def event_bytes(
    notification_id: int, originator_id: object, version: int, topic: str, state: bytes
) -> bytes:
    """A stored event's canonical bytes, the tree's leaf data: its place in the log, its
    aggregate and version, its topic and its stored state (with the hash chain's wrapper),
    exactly as stored."""
    head = f"zhaoshang-event-v1\n{notification_id}\n{originator_id}\n{version}\n{topic}\n"
    return head.encode() + bytes(state)


class Nodes(Protocol):
    def get_nodes(self, keys: Iterable[Key]) -> Mapping[Key, bytes]: ...


def largest_power_below(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def frontier_keys(size: int) -> list[Key]:
    """The perfect subtrees a tree of `size` leaves is made of, left to right."""
    keys, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            keys.append((level, start >> level))
            start += 1 << level
    return keys


def _range_keys(start: int, end: int) -> list[Key]:
    """The stored nodes the range [start, end) is made of (start aligned as in a proof)."""
    width = end - start
    if width & (width - 1) == 0 and start % width == 0:
        return [(width.bit_length() - 1, start // width)]
    split = start + largest_power_below(width)
    return _range_keys(start, split) + _range_keys(split, end)


def _range_hash(start: int, end: int, nodes: Mapping[Key, bytes]) -> bytes:
    width = end - start
    if width & (width - 1) == 0 and start % width == 0:
        return nodes[(width.bit_length() - 1, start // width)]
    split = start + largest_power_below(width)
    return node_hash(_range_hash(start, split, nodes), _range_hash(split, end, nodes))


def _resolve(ranges: Sequence[tuple[int, int]], source: Nodes) -> list[bytes]:
    wanted = {key for start, end in ranges for key in _range_keys(start, end)}
    nodes = source.get_nodes(sorted(wanted))
    missing = wanted - set(nodes)
    if missing:
        raise LookupError(f"the tree has no node {sorted(missing)[0]}: it was not built that far")
    return [_range_hash(start, end, nodes) for start, end in ranges]


def root(size: int, source: Nodes) -> bytes:
    """The root of the tree's first `size` leaves (the hash of nothing for an empty tree)."""
    if size == 0:
        return hashlib.sha256(b"").digest()
    return _resolve([(0, size)], source)[0]


def _path_ranges(index: int, start: int, end: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.3.1 PATH(m, D[start:end]) as the ranges whose hashes it lists."""
    if end - start <= 1:
        return []
    split = start + largest_power_below(end - start)
    if index < split:
        return [*_path_ranges(index, start, split), (split, end)]
    return [*_path_ranges(index, split, end), (start, split)]


def inclusion_proof(index: int, size: int, source: Nodes) -> list[bytes]:
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    return _resolve(_path_ranges(index, 0, size), source)


def _subproof_ranges(m: int, start: int, end: int, whole: bool) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[start:end], b) as ranges."""
    if start + m == end:
        return [] if whole else [(start, end)]
    split = start + largest_power_below(end - start)
    if start + m <= split:
        return [*_subproof_ranges(m, start, split, whole), (split, end)]
    return [*_subproof_ranges(m - (split - start), split, end, False), (start, split)]


def consistency_proof(old: int, new: int, source: Nodes) -> list[bytes]:
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from {old} to {new} leaves")
    if old in (0, new):
        return []
    return _resolve(_subproof_ranges(old, 0, new, True), source)


class Appender:
    """Adds leaves to a tree whose first `size` leaves are stored, from its frontier: what
    `add` returns is every perfect node the new leaves complete (the leaves' own at level 0)."""

    def __init__(self, size: int, frontier: Mapping[Key, bytes]) -> None:
        self.size = size
        self._edge = {level: frontier[(level, index)] for level, index in frontier_keys(size)}

    @classmethod
    def load(cls, size: int, source: Nodes) -> Appender:
        return cls(size, source.get_nodes(frontier_keys(size)))

    def add(self, leaf_hashes: Iterable[bytes]) -> list[tuple[Key, bytes]]:
        made: list[tuple[Key, bytes]] = []
        for value in leaf_hashes:
            index, level = self.size, 0
            made.append(((0, index), value))
            while index & 1:  # a right child: its left sibling is on the edge
                value = node_hash(self._edge.pop(level), value)
                index, level = index >> 1, level + 1
                made.append(((level, index), value))
            self._edge[level] = value
            self.size += 1
        return made

    def root(self) -> bytes:
        if self.size == 0:
            return hashlib.sha256(b"").digest()
        levels = sorted(self._edge)  # lowest (rightmost) first
        value = self._edge[levels[0]]
        for level in levels[1:]:
            value = node_hash(self._edge[level], value)
        return value
