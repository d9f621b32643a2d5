"""`zhaoshang users add|disable|enable|reset|grant|totp|list`: the console's accounts from the
command line, on the console's store (the same environment as the console: ZHAOSHANG_VAR, or
PERSISTENCE_MODULE and POSTGRES_* for PostgreSQL). Also `make run`'s development accounts.

    zhaoshang users add li.si --unit pref:420500 --roles reporter      # prints a first password
    zhaoshang users grant li.si --roles reporter,viewer
    zhaoshang users reset li.si
    zhaoshang users disable li.si
    zhaoshang users totp wang.wu       # enrols a TOTP second factor, prints its otpauth:// URI
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from services.console import passwords
from services.console.accounts import Accounts
from services.console.roles import AccountError

DEV_USERS_FILE = "dev-console-users.json"


def _parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="zhaoshang users", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="a new account; prints its first password")
    add.add_argument("username")
    add.add_argument("--unit", required=True, help="office, pref:<code>, county:<code>, ...")
    add.add_argument("--roles", required=True, help="comma-separated: reporter,reviewer,...")
    for name in ("disable", "enable", "reset", "totp"):
        commands.add_parser(name).add_argument("username")
    grant = commands.add_parser("grant", help="replace an account's roles")
    grant.add_argument("username")
    grant.add_argument("--roles", required=True)
    commands.add_parser("list")
    root.add_argument("--by", default=None, help="who makes the change (default: $USER)")
    return root


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    by = args.by or f"cli:{getpass.getuser()}"
    accounts = Accounts.from_environment(os.environ)
    try:
        if args.command == "add":
            password = passwords.generated()
            roles = [r.strip() for r in args.roles.split(",") if r.strip()]
            accounts.add(args.username, args.unit, roles, password, by)
            print(f"已添加 {args.username}；初始密码 / first password: {password}", file=out)
        elif args.command == "reset":
            password = passwords.generated()
            accounts.reset(args.username, password, by)
            print(f"已重置 {args.username}；新密码 / new password: {password}", file=out)
        elif args.command in ("disable", "enable"):
            accounts.set_disabled(args.username, args.command == "disable", by)
            print(f"已{'停用' if args.command == 'disable' else '启用'} {args.username}", file=out)
        elif args.command == "grant":
            roles = [r.strip() for r in args.roles.split(",") if r.strip()]
            accounts.grant(args.username, roles, by)
            print(f"已授予 {args.username}：{','.join(roles)}", file=out)
        elif args.command == "totp":
            import pyotp

            secret = pyotp.random_base32()
            accounts.enrol_totp(args.username, secret, by)
            uri = pyotp.TOTP(secret).provisioning_uri(name=args.username, issuer_name="zhaoshang")
            print(f"已登记动态口令 / TOTP enrolled: {uri}", file=out)
        else:
            for name in accounts.usernames():
                a = accounts.get(name)
                state = "disabled" if a.disabled else "active"
                print(f"{a.username}\t{a.unit}\t{','.join(a.roles)}\t{state}", file=out)
    except AccountError as error:
        print(
            f"{error.field}={error.value!r}: {error.message}（规则 {error.rule}）", file=sys.stderr
        )
        return 2
    return 0


def dev_accounts(prefectures: list[str]) -> list[dict]:
    """make run's people: an office reviewer, an administrator, a clerk per 市州, an auditor."""
    people = [
        {"username": "office.reviewer", "unit": "office", "roles": ["reviewer", "viewer"]},
        {"username": "office.admin", "unit": "office", "roles": ["admin"]},
        {"username": "auditor.dev", "unit": "auditor:dev", "roles": ["auditor"]},
    ]
    people += [
        {"username": f"clerk.{code}", "unit": f"pref:{code}", "roles": ["reporter"]}
        for code in prefectures
    ]
    return people


def issue_dev_accounts(environ: Mapping[str, str], var: Path, prefectures: list[str]) -> Path:
    """Creates (or gives new passwords to) the development accounts, with the lockout and TOTP
    policy off for them, and writes them to var/dev-console-users.json, readable by its owner
    only: a list of {username, password, unit, roles}."""
    accounts = Accounts.from_environment(environ)
    written = []
    for person in dev_accounts(prefectures):
        password = passwords.generated()
        if accounts.find(person["username"]) is None:
            accounts.add(person["username"], person["unit"], person["roles"], password, "make-run")
        else:
            accounts.reset(person["username"], password, "make-run")
            accounts.set_disabled(person["username"], False, "make-run")
        written.append({**person, "password": password})
    path = var / DEV_USERS_FILE
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(written, file, ensure_ascii=False, indent=1)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
