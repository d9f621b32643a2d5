"""The gateway's keys file as operators use it: each key has an id, a holder, roles, a creation
time and maybe an expiry; one is revoked or rotated by its id alone; a file written before keys
had ids and roles still loads."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from services.gateway.caller import AUDIT, DELEGATE, READ, REPORT, REVIEW
from services.gateway.credentials import KeysFileError, KeyStore, fingerprint, read_keys
from services.gateway.errors import Unauthenticated
from services.kernel.contract.calendar import SHANGHAI
from services.kernel.reference import reference
from zhaoshang import keys
from zhaoshang.keys import issue_key


@pytest.fixture
def keys_file(tmp_path):
    return tmp_path / "keys.yaml"


def refusal(store: KeyStore, key: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as refused:
        store.credential(key)
    return refused.value


def test_each_key_has_its_own_id_and_its_holders_default_roles(keys_file):
    office = issue_key(keys_file, "office").credential
    wuhan = issue_key(keys_file, "pref:420100").credential
    auditor = issue_key(keys_file, "auditor:shenjiting").credential

    assert office.roles == {REPORT, READ, REVIEW}
    assert wuhan.roles == {REPORT, READ}
    assert auditor.roles == {AUDIT, READ}
    assert len({office.id, wuhan.id, auditor.id}) == 3
    assert office.created_at is not None and office.expires_at is None
    assert read_keys(keys_file) == [office, wuhan, auditor]


def test_the_keys_file_is_readable_yaml_holding_hashes_only(keys_file):
    key, credential = issue_key(keys_file, "pref:420100", label="武汉市")
    text = keys_file.read_text(encoding="utf-8")

    assert key not in text
    assert f"id: {credential.id}" in text
    assert "holder: pref:420100" in text
    assert "roles: [report, read]" in text
    assert f"sha256: {fingerprint(key)}" in text
    assert "label: 武汉市" in text


def test_delegate_is_given_only_when_asked_alone_and_to_the_office(keys_file):
    console = issue_key(keys_file, "office", roles=frozenset({DELEGATE})).credential
    assert console.roles == {DELEGATE}
    with pytest.raises(KeysFileError, match="may not hold delegate"):
        issue_key(keys_file, "pref:420100", roles=frozenset({DELEGATE}))
    with pytest.raises(KeysFileError, match="of its own"):
        issue_key(keys_file, "office", roles=frozenset({DELEGATE, READ}))
    with pytest.raises(KeysFileError, match="may not hold review"):
        issue_key(keys_file, "county:420111", roles=frozenset({REVIEW}))
    with pytest.raises(KeysFileError, match="may not hold report"):
        issue_key(keys_file, "auditor:shenjiting", roles=frozenset({REPORT}))
    with pytest.raises(KeysFileError, match="not a known holder"):
        issue_key(keys_file, "pref:110000")
    assert read_keys(keys_file) == [console]


def test_a_key_past_its_expiry_is_refused_naming_its_id(keys_file):
    expires = datetime.now(SHANGHAI).replace(microsecond=0) + timedelta(days=10)
    key, credential = issue_key(keys_file, "pref:420100", expires_at=expires)

    before = KeyStore(keys_file, clock=lambda: expires - timedelta(seconds=1))
    assert before.credential(key) == credential
    refused = refusal(KeyStore(keys_file, clock=lambda: expires), key)
    assert (refused.field, refused.value, refused.rule) == (
        "x-api-key",
        credential.id,
        "api_key_expired",
    )
    assert expires.isoformat() in refused.message_en and key not in str(refused)


def test_a_key_is_revoked_by_its_id_alone_and_the_others_keep_working(keys_file):
    store = KeyStore(keys_file)
    first, one = issue_key(keys_file, "pref:420100")
    second, other = issue_key(keys_file, "pref:420100")
    assert store.credential(first) == one

    revoked = keys.revoke(keys_file, one.id)

    assert refusal(store, first).rule == "api_key_revoked"
    assert store.credential(second) == other
    assert revoked.revoked_at is not None
    assert [k.id for k in read_keys(keys_file)] == [one.id, other.id]  # kept, for the record
    with pytest.raises(KeysFileError, match="was revoked"):
        keys.revoke(keys_file, one.id)
    with pytest.raises(KeysFileError, match="no key with id"):
        keys.revoke(keys_file, "key-000000000000")


def test_a_rotated_key_works_at_once_in_place_of_the_old_one(keys_file):
    store = KeyStore(keys_file)
    expires = datetime.now(SHANGHAI) + timedelta(days=90)
    old_key, old = issue_key(keys_file, "office", label="办公室", expires_at=expires)
    assert store.credential(old_key) == old

    new_key, new = keys.rotate(keys_file, old.id)

    assert store.credential(new_key) == new
    assert refusal(store, old_key).rule == "api_key_revoked"
    assert (new.holder, new.roles, new.label) == (old.holder, old.roles, old.label)
    assert new.id != old.id and new_key != old_key
    assert new.expires_at is not None
    assert new.expires_at - new.created_at == old.expires_at - old.created_at  # type: ignore


def test_a_keys_file_written_before_ids_and_roles_still_loads(keys_file):
    office_key, wuhan_key = "zsk_" + "a" * 43, "zsk_" + "b" * 43
    keys_file.write_text(
        "keys:\n"
        f"  - {{source: office, sha256: {fingerprint(office_key)}, issued_on: '2020-05-06'}}\n"
        f"  - source: pref:420100\n"
        f"    sha256: {fingerprint(wuhan_key)}\n"
        "    issued_on: '2020-05-06'\n"
        "    label: 武汉市\n",
        encoding="utf-8",
    )
    store = KeyStore(keys_file)

    office, wuhan = store.credential(office_key), store.credential(wuhan_key)

    assert office.id == "key-" + fingerprint(office_key)[:12]
    assert office.roles == {REPORT, READ, REVIEW} and wuhan.roles == {REPORT, READ}
    assert wuhan.label == "武汉市"
    assert wuhan.created_at == datetime(2020, 5, 6, tzinfo=SHANGHAI)
    keys.revoke(keys_file, wuhan.id)  # an old entry is revoked by its derived id
    assert refusal(store, wuhan_key).rule == "api_key_revoked"
    assert store.credential(office_key).id == office.id  # the file now in the new format
    assert "holder: office" in keys_file.read_text(encoding="utf-8")


def test_a_broken_keys_file_names_the_entry_and_what_is_wrong(keys_file):
    digest = fingerprint("zsk_x")
    for entry, problem in [
        (f"{{holder: pref:420100, sha256: {digest}, roles: [review]}}", "may not hold review"),
        (f"{{holder: pref:420100, sha256: {digest}, roles: [admin]}}", "unknown role"),
        (f"{{holder: nobody, sha256: {digest}}}", "not a known holder"),
        ("{holder: office, sha256: abc}", "64 lowercase hex"),
        (f"{{id: k1, holder: office, sha256: {digest}}}", "is not key-"),
    ]:
        keys_file.write_text(f"keys:\n  - {entry}\n", encoding="utf-8")
        with pytest.raises(KeysFileError, match=f"key 1: .*{problem}"):
            read_keys(keys_file)
    twice = f"{{id: key-0123456789ab, holder: office, sha256: {digest}}}"
    keys_file.write_text(f"keys:\n  - {twice}\n  - {twice}\n", encoding="utf-8")
    with pytest.raises(KeysFileError, match="key 2: id key-0123456789ab is used twice"):
        read_keys(keys_file)


def test_the_command_line_issues_lists_revokes_and_rotates_by_id(keys_file, capsys):
    run = ["--keys-file", str(keys_file)]
    assert keys.main([*run, "issue", "auditor:shenjiting", "--days", "30"]) == 0
    issued = capsys.readouterr()
    key = issued.out.strip()
    (credential,) = read_keys(keys_file)
    assert credential.id in issued.err and key not in issued.err

    assert keys.main([*run, "rotate", credential.id]) == 0
    rotated = capsys.readouterr()
    new_key = rotated.out.strip()
    assert KeyStore(keys_file).credential(new_key).holder == "auditor:shenjiting"

    keys.main([*run, "list"])
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (listed[0]["id"], listed[0]["status"]) == (credential.id, "revoked")
    assert listed[1]["status"] == "active" and listed[1]["roles"] == ["read", "audit"]
    assert key not in json.dumps(listed) and new_key not in json.dumps(listed)
    assert all("sha256" not in e for e in listed)

    assert keys.main([*run, "revoke", listed[1]["id"]]) == 0
    assert keys.main([*run, "revoke", listed[1]["id"]]) == 2
    assert keys.main([*run, "issue", "office", "--roles", "delegate,read"]) == 2
    assert keys.main([*run, "issue", "office", "--expires", "2020-01-01"]) == 2


def test_make_run_issues_a_key_per_source_one_for_an_auditor_and_one_for_the_console(tmp_path):
    holders = keys.dev_sources(reference())
    issued = keys.issue_dev_keys(tmp_path, holders)

    assert json.loads((tmp_path / keys.DEV_API_KEYS).read_text(encoding="utf-8")) == issued
    assert set(issued) == {*holders, keys.DEV_CONSOLE}
    assert {"office", "pref:420100", "county:420111", "dept:jingxin", "auditor:dev"} <= set(holders)
    store = KeyStore(tmp_path / keys.DEV_KEYS_FILE)
    assert store.credential(issued["auditor:dev"]).roles == {AUDIT, READ}
    console = store.credential(issued[keys.DEV_CONSOLE])
    assert (console.holder, console.roles) == ("office", {DELEGATE})
    assert store.credential(issued["office"]).roles == {REPORT, READ, REVIEW}
