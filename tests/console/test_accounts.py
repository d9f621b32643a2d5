"""The console's accounts on a real SQLite store: the password policy, roles with 三员分立,
lockout, the second factor, and every sign-in, change and read recorded as events."""

from __future__ import annotations

import json
import stat
from datetime import timedelta

import pyotp
import pytest

from services.console.accounts import Accounts, Policy
from services.console.roles import AccountError, gateway_roles
from services.console.users import issue_dev_accounts, main

GOOD = "Quarterly-Report-2020"


@pytest.fixture
def accounts(sqlite_env) -> Accounts:
    return Accounts.from_environment(sqlite_env, Policy(max_failures=3, lockout=timedelta(hours=1)))


def test_the_password_policy_names_what_is_wrong(accounts):
    for password, words in [
        ("Short-1a", "长度"),
        ("alllowercaseletters", "三类"),
        ("Li.Si-is-2020-here", "用户名"),
    ]:
        with pytest.raises(AccountError) as refused:
            accounts.add("li.si", "pref:420500", ["reporter"], password, "admin")
        assert refused.value.rule == "password_policy" and words in refused.value.message
    account = accounts.add("li.si", "pref:420500", ["reporter"], GOOD, "admin")
    assert GOOD not in account.password_hash and account.password_hash.startswith("$argon2id$")


def test_roles_keep_three_separated_and_fit_the_unit(accounts):
    cases = [
        (["admin", "auditor"], "auditor:x", "three_separated"),
        (["admin", "security"], "office", "three_separated"),
        (["reviewer"], "pref:420100", "reviewer_is_office"),
        (["auditor"], "office", "auditor_unit"),
        (["nobody"], "office", "known_roles"),
    ]
    for roles, unit, rule in cases:
        with pytest.raises(AccountError) as refused:
            accounts.add("x.y", unit, roles, GOOD, "admin")
        assert refused.value.rule == rule
    with pytest.raises(AccountError) as refused:
        accounts.add("x.y", "pref:42", ["reporter"], GOOD, "admin")
    assert refused.value.rule == "known_unit"
    assert gateway_roles(("reviewer", "viewer")) == ("report", "read", "review")
    assert gateway_roles(("admin",)) == ()


def test_repeated_failures_lock_the_account_even_against_the_right_password(accounts):
    accounts.add("li.si", "pref:420500", ["reporter"], GOOD, "admin")
    assert not accounts.sign_in("nobody", GOOD, "", "127.0.0.1").ok
    for _ in range(3):
        assert not accounts.sign_in("li.si", "Wrong-password-1", "", "127.0.0.1").ok
    locked = accounts.sign_in("li.si", GOOD, "", "127.0.0.1")
    assert not locked.ok and "锁定" in locked.message
    accounts.reset("li.si", "Another-Password-9", "admin")  # an administrator's reset unlocks
    assert accounts.sign_in("li.si", "Another-Password-9", "", "127.0.0.1").ok


def test_a_disabled_account_cannot_sign_in(accounts):
    accounts.add("li.si", "pref:420500", ["reporter"], GOOD, "admin")
    accounts.set_disabled("li.si", True, "admin")
    assert not accounts.sign_in("li.si", GOOD, "", "127.0.0.1").ok
    accounts.set_disabled("li.si", False, "admin")
    assert accounts.sign_in("li.si", GOOD, "", "127.0.0.1").ok


def test_reviewers_need_a_second_factor_when_the_deployment_says_so(sqlite_env):
    accounts = Accounts.from_environment(sqlite_env, Policy(require_totp=True))
    accounts.add("wang.wu", "office", ["reviewer"], GOOD, "admin")
    accounts.add("li.si", "pref:420500", ["reporter"], GOOD, "admin")
    assert accounts.sign_in("li.si", GOOD, "", "h").ok  # a clerk: no second factor needed
    unenrolled = accounts.sign_in("wang.wu", GOOD, "", "h")
    assert not unenrolled.ok and "双因素" in unenrolled.message
    secret = pyotp.random_base32()
    accounts.enrol_totp("wang.wu", secret, "admin")
    asked = accounts.sign_in("wang.wu", GOOD, "", "h")
    assert not asked.ok and asked.needs_totp
    assert not accounts.sign_in("wang.wu", GOOD, "000000", "h").ok
    assert accounts.sign_in("wang.wu", GOOD, pyotp.TOTP(secret).now(), "h").ok


def test_every_sign_in_change_and_read_is_in_the_trail(accounts):
    accounts.add("li.si", "pref:420500", ["reporter"], GOOD, "admin")
    accounts.sign_in("li.si", "Wrong-password-1", "", "10.0.0.9")
    accounts.sign_in("li.si", GOOD, "", "10.0.0.9")
    accounts.record("li.si", "pref:420500", "project", "420500-2020Q3-01")
    accounts.signed_out("li.si", "logout")
    kinds = [(e.kind, e.username) for e in accounts.trail()]
    assert kinds == [
        ("Account.SignedOut", "li.si"),
        ("Access.Recorded", "li.si"),
        ("Account.SignedIn", "li.si"),
        ("Account.SignInFailed", "li.si"),
        ("Account.Created", "li.si"),
    ]
    assert "420500-2020Q3-01" in accounts.trail()[1].detail
    assert all("argon2" not in e.detail for e in accounts.trail())  # no hash in the trail


def test_the_cli_adds_grants_resets_and_disables(sqlite_env, monkeypatch, capsys):
    for name, value in sqlite_env.items():
        monkeypatch.setenv(name, value)
    assert main(["add", "li.si", "--unit", "pref:420500", "--roles", "reporter"]) == 0
    password = capsys.readouterr().out.rsplit(": ", 1)[1].strip()
    assert Accounts.from_environment(sqlite_env).sign_in("li.si", password, "", "h").ok
    assert main(["grant", "li.si", "--roles", "reporter,viewer"]) == 0
    assert main(["grant", "li.si", "--roles", "reviewer"]) == 2  # not for a 市州
    assert "reviewer_is_office" in capsys.readouterr().err
    assert main(["disable", "li.si"]) == 0
    assert not Accounts.from_environment(sqlite_env).sign_in("li.si", password, "", "h").ok
    assert main(["list"]) == 0
    assert "li.si\tpref:420500\treporter,viewer\tdisabled" in capsys.readouterr().out


def test_development_accounts_are_written_for_their_owner_only(sqlite_env, tmp_path):
    path = issue_dev_accounts(sqlite_env, tmp_path, ["420100", "420200"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    people = json.loads(path.read_text(encoding="utf-8"))
    assert {p["username"] for p in people} == {
        "office.reviewer",
        "office.admin",
        "auditor.dev",
        "clerk.420100",
        "clerk.420200",
    }
    assert all(set(p) == {"username", "password", "unit", "roles"} for p in people)
    again = json.loads(issue_dev_accounts(sqlite_env, tmp_path, ["420100"]).read_text())
    accounts = Accounts.from_environment(sqlite_env)
    reviewer = next(p for p in again if p["username"] == "office.reviewer")
    assert accounts.sign_in("office.reviewer", reviewer["password"], "", "h").ok
