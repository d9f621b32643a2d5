"""The auditor's checks, on the auditor's machine, needing nothing of the server but its
answers: a signed tree head against the published public keys, an inclusion proof and a
consistency proof as RFC 9162 §2.1.3.2 and §2.1.4.2 verify them (leaf = SHA-256(0x00 || data),
node = SHA-256(0x01 || left || right)).

The keyring is the deployment's published JSON of public keys (`make run`:
var/signing/keyring.json): `{"keys": [{"key_id", "public_key" (base64, 32 raw bytes)}]}`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def inclusion_holds(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def consistency_holds(
    old: int, new: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2."""
    if old == new:
        return old_root == new_root and not path
    if not 0 < old < new or not path:
        return False
    proof = list(path)
    if old & (old - 1) == 0:  # a power of two: the old root is the first node
        proof.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = _node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0


def head_message(head: dict) -> bytes:
    return (
        f"zhaoshang-tree-head-v1\n{head['store']}\n{head['size']}\n{head['root']}\n{head['time']}\n"
    ).encode()


class Keyring:
    """The published public keys, by key id."""

    def __init__(self, keys: dict[str, Ed25519PublicKey]) -> None:
        self.keys = keys

    @classmethod
    def load(cls, path: Path) -> Keyring:
        entries = json.loads(path.read_text())["keys"]
        keys = {}
        for entry in entries:
            raw = base64.b64decode(entry["public_key"])
            if hashlib.sha256(raw).hexdigest() != entry["key_id"]:
                raise ValueError(f"{path}: key {entry['key_id'][:16]} is not its public key's hash")
            keys[entry["key_id"]] = Ed25519PublicKey.from_public_bytes(raw)
        return cls(keys)

    def signed(self, head: dict) -> bool:
        """Whether the head's signature is one of the keyring's keys over its content."""
        key = self.keys.get(head.get("key_id", ""))
        if key is None:
            return False
        try:
            key.verify(base64.b64decode(head["signature"]), head_message(head))
        except (InvalidSignature, ValueError):
            return False
        return True


class RootBuilder:
    """The RFC 9162 root of leaves given one by one, keeping only the right edge."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (height, hash), heights decreasing

    def add(self, leaf: bytes) -> None:
        height, value = 0, leaf
        while self._stack and self._stack[-1][0] == height:
            value = _node(self._stack.pop()[1], value)
            height += 1
        self._stack.append((height, value))

    def root(self) -> bytes:
        if not self._stack:
            return hashlib.sha256(b"").digest()
        value = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            value = _node(left, value)
        return value
