"""Issue, list, revoke and rotate the gateway's API keys: the keys file's command line.

    python -m zhaoshang.keys issue pref:420100 --label 武汉市招商引资系统
    python -m zhaoshang.keys issue auditor:shenji --days 365
    python -m zhaoshang.keys issue office --roles delegate --label 控制台
    python -m zhaoshang.keys list
    python -m zhaoshang.keys revoke key-4f1c2a9e0b7d
    python -m zhaoshang.keys rotate key-4f1c2a9e0b7d

`issue` and `rotate` print the new key once, alone on standard output (what they did goes to
standard error); nothing can show it again: the keys file (`GATEWAY_KEYS_FILE`, format in
services/gateway/credentials.py) holds only each key's SHA-256. Roles default to the holder's
(office: report, read, review; auditor:<name>: audit, read; any other source: report, read);
`delegate` only when asked, alone, for the office. `revoke` keeps the entry, marked revoked.
`rotate` issues a key for the same holder, roles and label (an expiring key keeps its lifetime,
counted from now) and revokes the old one in the same write. The gateway re-reads the file when
it changes, so each counts from the next call. `make run` issues development keys
(`issue_dev_keys`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import secrets
import sys
import tempfile
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from services.gateway.caller import DELEGATE
from services.gateway.credentials import (
    Credential,
    KeysFileError,
    default_keys_file,
    default_roles,
    fingerprint,
    in_order,
    moment,
    now,
    read_keys,
    roles_problem,
)
from services.kernel.contract.lookups import is_known_holder

KEY_PREFIX = "zsk_"
DEV_KEYS_FILE = "gateway-keys.yaml"  # the hashes, for the gateway
DEV_API_KEYS = "dev-api-keys.json"  # the keys themselves, for the demo and local scripts
DEV_AUDITOR = "auditor:dev"
DEV_CONSOLE = "console-delegate"  # dev-api-keys.json's name for the console's delegate key
HEADER = (
    "# zhaoshang gateway API keys: the SHA-256 of each key, never the key itself.\n"
    "# Managed with `python -m zhaoshang.keys` (issue, list, revoke, rotate).\n"
)


class Issued(NamedTuple):
    key: str  # shown once, never stored
    credential: Credential


class Wanted(NamedTuple):
    holder: str
    roles: frozenset[str] | None = None  # None: the holder's defaults
    label: str = ""
    expires_at: datetime | None = None


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_id(taken: Iterable[Credential]) -> str:
    ids = {c.id for c in taken}
    while (candidate := "key-" + secrets.token_hex(6)) in ids:
        pass
    return candidate


def write_keys(path: Path, keys: Iterable[Credential]) -> None:
    """Replace the keys file in one step (the gateway may be reading it), readable by its
    owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(
        {"keys": [k.to_dict() for k in keys]},
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=None,
        width=100,
    )
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".keys-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(HEADER + text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def issue_keys(path: Path, wanted: Iterable[Wanted]) -> list[Issued]:
    """New keys, added to the keys file in one write; each key itself is returned, once."""
    keys = read_keys(path)
    issued: list[Issued] = []
    created = now().replace(microsecond=0)
    for want in wanted:
        issued.append(_new(want, [*keys, *(i.credential for i in issued)], created))
    write_keys(path, [*keys, *(i.credential for i in issued)])
    return issued


def _new(want: Wanted, taken: list[Credential], created: datetime) -> Issued:
    if not is_known_holder(want.holder):
        raise KeysFileError(
            f"{want.holder!r} is not a known holder "
            "(office, pref:<code>, county:<code>, dept:<key>, auditor:<name>)"
        )
    roles = default_roles(want.holder) if want.roles is None else want.roles
    if problem := roles_problem(want.holder, roles):
        raise KeysFileError(problem)
    expires_at = want.expires_at.replace(microsecond=0) if want.expires_at else None
    if expires_at is not None and expires_at <= created:
        raise KeysFileError(f"expiry {expires_at.isoformat()} is not in the future")
    key = new_key()
    credential = Credential(
        id=new_id(taken),
        holder=want.holder,
        roles=roles,
        sha256=fingerprint(key),
        created_at=created,
        expires_at=expires_at,
        label=want.label,
    )
    return Issued(key, credential)


def issue_key(
    path: Path,
    holder: str,
    roles: frozenset[str] | None = None,
    label: str = "",
    expires_at: datetime | None = None,
) -> Issued:
    """A new key for `holder`, added to the keys file."""
    (issued,) = issue_keys(path, [Wanted(holder, roles, label, expires_at)])
    return issued


def revoke(path: Path, credential_id: str) -> Credential:
    """Mark one key revoked, by its id; the gateway refuses it from the next call."""
    keys = read_keys(path)
    gone = _revoked(keys, credential_id)
    write_keys(path, [gone if k.id == credential_id else k for k in keys])
    return gone


def rotate(path: Path, credential_id: str) -> Issued:
    """A new key in place of an old one (same holder, roles and label; an expiring key keeps
    its lifetime from now), the old one revoked in the same write."""
    keys = read_keys(path)
    gone = _revoked(keys, credential_id)
    lifetime = gone.expires_at - gone.created_at if gone.expires_at and gone.created_at else None
    created = now().replace(microsecond=0)
    expires_at = created + lifetime if lifetime else None
    issued = _new(Wanted(gone.holder, gone.roles, gone.label, expires_at), keys, created)
    write_keys(path, [*(gone if k.id == credential_id else k for k in keys), issued.credential])
    return issued


def _revoked(keys: list[Credential], credential_id: str) -> Credential:
    """The key with this id, marked revoked now; KeysFileError if there is none, or it was."""
    for credential in keys:
        if credential.id == credential_id:
            if credential.revoked_at is not None:
                at = credential.revoked_at.isoformat()
                raise KeysFileError(f"{credential_id} was revoked at {at}")
            return dataclasses.replace(credential, revoked_at=now().replace(microsecond=0))
    raise KeysFileError(f"no key with id {credential_id!r} (see `list`)")


def listed(credential: Credential, at: datetime) -> dict:
    """What `list` shows of a key: never the key, nor its hash."""
    entry = {k: v for k, v in credential.to_dict().items() if k != "sha256"}
    if credential.revoked_at is not None:
        entry["status"] = "revoked"
    elif credential.expires_at is not None and at >= credential.expires_at:
        entry["status"] = "expired"
    else:
        entry["status"] = "active"
    return entry


def issue_dev_keys(directory: Path, sources: Iterable[str]) -> dict[str, str]:
    """Fresh development keys (`make run`): one per source with its default roles, and the
    console's delegate key (holder office, role delegate) under DEV_CONSOLE. The gateway's keys
    file and, readable by its owner only, the keys themselves as {name: key}. Never for a
    deployment: there, each system is issued its own key with `issue` and keeps it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / DEV_KEYS_FILE).unlink(missing_ok=True)
    label = "development key (make run)"
    sources = list(sources)
    wanted = [Wanted(s, label=label) for s in sources]
    wanted.append(Wanted("office", frozenset({DELEGATE}), "console, development (make run)"))
    issued = issue_keys(directory / DEV_KEYS_FILE, wanted)
    keys = {name: i.key for name, i in zip([*sources, DEV_CONSOLE], issued, strict=True)}
    plain = directory / DEV_API_KEYS
    plain.unlink(missing_ok=True)
    descriptor = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as f:
        json.dump(keys, f, ensure_ascii=False, indent=1)
    return keys


def dev_sources(ref: Any) -> list[str]:
    """Every source the reference data knows, and the development auditor: the holders of the
    development keys `make run` issues."""
    return [
        "office",
        *(f"pref:{p.code}" for p in ref.prefectures),
        *(f"county:{c.code}" for p in ref.prefectures for c in ref.counties_of(p.code)),
        *(f"dept:{key}" for key in ref.departments),
        *(f"org:{key}" for key in ref.organisations),
        DEV_AUDITOR,
    ]


def expiry(text: str) -> datetime:
    """--expires: a date (the key works through that day, Asia/Shanghai) or a date-time."""
    try:
        if "T" in text:
            return moment(text)
        return moment(date.fromisoformat(text) + timedelta(days=1))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date (2021-06-30) or date-time (2021-06-30T18:00+08:00)"
        ) from None


def roles_given(text: str) -> frozenset[str]:
    return frozenset(r.strip() for r in text.split(",") if r.strip())


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m zhaoshang.keys",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--keys-file", type=Path, default=None, help="default: GATEWAY_KEYS_FILE")
    commands = top.add_subparsers(dest="command", required=True)
    issue = commands.add_parser("issue", help="issue a key; prints it once")
    issue.add_argument(
        "holder", help="office, pref:<code>, county:<code>, dept:<key> or auditor:<name>"
    )
    issue.add_argument("--roles", type=roles_given, help="comma-separated; default: the holder's")
    issue.add_argument("--label", default="")
    until = issue.add_mutually_exclusive_group()
    until.add_argument("--expires", type=expiry, help="ISO date (through that day) or date-time")
    until.add_argument("--days", type=int, help="expires this many days from now")
    commands.add_parser("list", help="every key's id, holder, roles, times and status")
    gone = commands.add_parser("revoke", help="revoke one key by its id")
    gone.add_argument("id")
    again = commands.add_parser("rotate", help="a new key in place of one; prints it once")
    again.add_argument("id")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    path = args.keys_file or default_keys_file()
    try:
        if args.command == "issue":
            days = now() + timedelta(days=args.days) if args.days is not None else None
            issued = issue_key(path, args.holder, args.roles, args.label, args.expires or days)
            print(issued.key)
            print(f"issued {_about(issued.credential)}", file=sys.stderr)
        elif args.command == "list":
            at = now()
            for credential in read_keys(path):
                print(json.dumps(listed(credential, at), ensure_ascii=False))
        elif args.command == "revoke":
            print(f"revoked {_about(revoke(path, args.id))}")
        else:
            issued = rotate(path, args.id)
            print(issued.key)
            print(f"issued {_about(issued.credential)}; revoked {args.id}", file=sys.stderr)
    except KeysFileError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


def _about(credential: Credential) -> str:
    until = f", expires {credential.expires_at.isoformat()}" if credential.expires_at else ""
    roles = ", ".join(in_order(credential.roles))
    return f"{credential.id} for {credential.holder} ({roles}){until}"


if __name__ == "__main__":
    raise SystemExit(main())
