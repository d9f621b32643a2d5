"""The key that signs tree heads (heads.py): Ed25519, in a file outside the database.

- `ZHAOSHANG_SIGNING_KEY`: the private key (PEM, PKCS#8); default `var/signing/tree-head.key`
  (`make run` makes it once and keeps it across restarts; Kubernetes mounts a Secret).
- `ZHAOSHANG_KEYRING`: the public keys, every key that ever signed a head, as JSON
  `{"keys": [{"key_id", "public_key" (base64 of the 32 raw bytes), "created"}]}`; default
  `var/signing/keyring.json`. This file is what a deployment publishes to auditors.

A key's id is the SHA-256 of its raw public key, in hex. Rotation (`python -m
services.kernel.store.signing rotate`) makes a new key, adds its public key to the keyring and
replaces the private key file; heads signed by an old key still verify by its id.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.kernel.store.environment import var_dir

KEY_ENV, KEYRING_ENV = "ZHAOSHANG_SIGNING_KEY", "ZHAOSHANG_KEYRING"


def key_path(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get(KEY_ENV) or var_dir(environ) / "signing" / "tree-head.key")


def keyring_path(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get(KEYRING_ENV) or var_dir(environ) / "signing" / "keyring.json")


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()


class Signer:
    """The head-signing key as loaded from its file."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_key = raw_public(key)
        self.key_id = key_id(self.public_key)

    @classmethod
    def load(cls, environ: Mapping[str, str] = os.environ) -> Signer:
        path = key_path(environ)
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"no signing key at {path} ({KEY_ENV}); `make run` makes one, a deployment "
                "mounts its Secret there"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} holds no Ed25519 private key")
        return cls(key)

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self._key.sign(message)).decode("ascii")


def _write_private(path: Path, key: Ed25519PrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temporary = path.with_name(path.name + ".part")
    temporary.touch(mode=0o600)
    temporary.write_bytes(pem)
    temporary.replace(path)


def _add_to_keyring(path: Path, key: Ed25519PrivateKey) -> str:
    ring = json.loads(path.read_text()) if path.exists() else {"keys": []}
    public = raw_public(key)
    ident = key_id(public)
    if all(entry["key_id"] != ident for entry in ring["keys"]):
        ring["keys"].append(
            {
                "key_id": ident,
                "public_key": base64.b64encode(public).decode("ascii"),
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    temporary.write_text(json.dumps(ring, indent=2) + "\n")
    temporary.replace(path)
    return ident


def ensure_key(environ: Mapping[str, str] = os.environ) -> str:
    """The signing key's id, making the key (and its keyring entry) if there is none yet."""
    path, ring = key_path(environ), keyring_path(environ)
    if path.exists():
        signer = Signer.load(environ)
        if not ring.exists():
            _add_to_keyring(ring, signer._key)
        return signer.key_id
    key = Ed25519PrivateKey.generate()
    ident = _add_to_keyring(ring, key)  # public first: a head is never signed by an unknown key
    _write_private(path, key)
    return ident


def rotate(environ: Mapping[str, str] = os.environ) -> str:
    """A new signing key; the old public key stays in the keyring. The new key's id."""
    key = Ed25519PrivateKey.generate()
    ident = _add_to_keyring(keyring_path(environ), key)
    _write_private(key_path(environ), key)
    return ident


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the tree-head signing key (签名密钥)")
    parser.add_argument("action", choices=["ensure", "rotate", "show"])
    args = parser.parse_args(argv)
    if args.action == "rotate":
        print(rotate())
    elif args.action == "ensure":
        print(ensure_key())
    else:
        print(Signer.load().key_id)
    print(f"keyring: {keyring_path()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
