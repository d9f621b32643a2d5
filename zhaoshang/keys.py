"""Issue, list and revoke the gateway's API keys: the keys file's command line.

    python -m zhaoshang.keys issue pref:420100 --label 武汉市招商引资系统
    python -m zhaoshang.keys list
    python -m zhaoshang.keys revoke pref:420100

`issue` prints the key once; nothing can show it again: the keys file (`GATEWAY_KEYS_FILE`,
format in services/gateway/auth.py) holds only each key's SHA-256. The gateway re-reads the file
when it changes, so a key issued or revoked here counts from the next call. `make run` issues a
development key for every source (`issue_dev_keys`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import sys
import tempfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from services.gateway.auth import (
    IssuedKey,
    KeysFileError,
    default_keys_file,
    fingerprint,
    read_keys,
)
from services.kernel.contract.lookups import is_known_source

KEY_PREFIX = "zsk_"
DEV_KEYS_FILE = "gateway-keys.yaml"  # the hashes, for the gateway
DEV_API_KEYS = "dev-api-keys.json"  # the keys themselves, for the demo and local scripts


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def write_keys(path: Path, keys: Iterable[IssuedKey]) -> None:
    """Replace the keys file in one step (the gateway may be reading it), readable by its
    owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(
        {"keys": [k.to_dict() for k in keys]}, allow_unicode=True, sort_keys=False
    )
    header = "# zhaoshang gateway API keys: SHA-256 of each key, never the key itself.\n"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".keys-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(header + text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def issue_key(path: Path, source: str, label: str = "") -> str:
    """A new key for `source`, added to the keys file; the key itself is returned, once."""
    if not is_known_source(source):
        raise KeysFileError(f"{source!r} is not a known source (office, pref:, county:, dept:)")
    key = new_key()
    entry = IssuedKey(source, fingerprint(key), date.today().isoformat(), label)
    write_keys(path, [*read_keys(path), entry])
    return key


def issue_keys(path: Path, sources: Iterable[str], label: str = "") -> dict[str, str]:
    """One new key per source, written in one go (a development set: `make run`)."""
    keys = {source: new_key() for source in sources}
    today = date.today().isoformat()
    issued = [IssuedKey(s, fingerprint(k), today, label) for s, k in keys.items()]
    write_keys(path, [*read_keys(path), *issued])
    return keys


def revoke(path: Path, source: str) -> int:
    kept = [k for k in read_keys(path) if k.source != source]
    removed = len(read_keys(path)) - len(kept)
    write_keys(path, kept)
    return removed


def issue_dev_keys(directory: Path, sources: Iterable[str]) -> dict[str, str]:
    """Fresh development keys for `sources` (`make run`): the gateway's keys file and, readable
    by its owner only, the keys themselves. Never for a deployment: there, each system is
    issued its own key with `issue` and keeps it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / DEV_KEYS_FILE).unlink(missing_ok=True)
    keys = issue_keys(directory / DEV_KEYS_FILE, sources, label="development key (make run)")
    plain = directory / DEV_API_KEYS
    plain.unlink(missing_ok=True)
    descriptor = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as f:
        json.dump(keys, f, ensure_ascii=False, indent=1)
    return keys


def dev_sources(ref: Any) -> list[str]:
    """Every source the reference data knows: the development keys `make run` issues."""
    return [
        "office",
        *(f"pref:{p.code}" for p in ref.prefectures),
        *(f"county:{c.code}" for p in ref.prefectures for c in ref.counties_of(p.code)),
        *(f"dept:{key}" for key in ref.departments),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zhaoshang.keys", description=__doc__)
    parser.add_argument("--keys-file", type=Path, default=None, help="default: GATEWAY_KEYS_FILE")
    commands = parser.add_subparsers(dest="command", required=True)
    issue = commands.add_parser("issue", help="issue a key for a source; prints it once")
    issue.add_argument("source")
    issue.add_argument("--label", default="")
    commands.add_parser("list", help="the sources holding keys (never the keys)")
    gone = commands.add_parser("revoke", help="revoke every key of a source")
    gone.add_argument("source")
    args = parser.parse_args(argv)
    path = args.keys_file or default_keys_file()
    try:
        if args.command == "issue":
            print(issue_key(path, args.source, args.label))
        elif args.command == "list":
            for key in read_keys(path):
                print(
                    json.dumps(
                        {**key.to_dict(), "sha256": key.sha256[:12] + "…"}, ensure_ascii=False
                    )
                )
        else:
            print(f"revoked {revoke(path, args.source)} key(s) of {args.source}")
    except KeysFileError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
