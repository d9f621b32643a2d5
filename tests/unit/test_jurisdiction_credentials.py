"""Credentials and jurisdictions in memory: keys kept only as hashes, a source's jurisdiction
from the reference data, and a mixed quarter split per sender without breaking what depends on
what."""

from __future__ import annotations

import json

import pytest

from services.gateway.auth import AmqpUsers
from services.gateway.credentials import KeyStore, read_keys
from services.gateway.errors import Unauthenticated
from services.kernel.contract.jurisdiction import Jurisdictions, NotPermitted
from services.kernel.reference import reference
from tools.demo import by_sender, generate_demo
from zhaoshang import keys
from zhaoshang.keys import issue_key


@pytest.fixture
def keys_file(tmp_path):
    return tmp_path / "keys.yaml"


def test_an_issued_key_is_stored_only_as_its_hash_and_names_its_source(keys_file):
    key, _ = issue_key(keys_file, "pref:420100", label="武汉市")

    assert key not in keys_file.read_text(encoding="utf-8")
    assert [(k.holder, k.label) for k in read_keys(keys_file)] == [("pref:420100", "武汉市")]
    assert KeyStore(keys_file).credential(key).holder == "pref:420100"
    assert keys_file.stat().st_mode & 0o077 == 0


def test_a_missing_unknown_or_revoked_key_is_refused_naming_field_value_and_rule(keys_file):
    store = KeyStore(keys_file)
    key, credential = issue_key(keys_file, "office")
    with pytest.raises(Unauthenticated) as missing:
        store.credential(None)
    assert (missing.value.field, missing.value.rule) == ("x-api-key", "api_key_missing")
    with pytest.raises(Unauthenticated) as unknown:
        store.credential(key + "x")
    assert unknown.value.rule == "api_key_unknown"
    assert unknown.value.value == key[:8] + "…"

    keys.revoke(keys_file, credential.id)  # the store notices the file changed
    with pytest.raises(Unauthenticated) as revoked:
        store.credential(key)
    assert revoked.value.rule == "api_key_revoked"
    assert revoked.value.value == credential.id
    assert key not in str(revoked.value)


def test_the_command_line_issues_lists_and_revokes(keys_file, capsys):
    assert keys.main(["--keys-file", str(keys_file), "issue", "dept:jingxin"]) == 0
    key = capsys.readouterr().out.strip()
    assert KeyStore(keys_file).credential(key).holder == "dept:jingxin"
    keys.main(["--keys-file", str(keys_file), "list"])
    listed = json.loads(capsys.readouterr().out)
    assert listed["holder"] == "dept:jingxin" and key not in json.dumps(listed)
    assert keys.main(["--keys-file", str(keys_file), "issue", "pref:110000"]) == 2


def test_an_amqp_user_names_its_source_under_the_deployments_prefix():
    users = AmqpUsers("staging/")
    assert users.caller_of("staging/county:420111").unit == "county:420111"
    for user_id in (None, "county:420111", "staging/guest"):
        with pytest.raises(Unauthenticated):
            users.caller_of(user_id)


def test_each_source_covers_its_own_area_industries_and_units():
    of = Jurisdictions(reference()).of
    assert of("pref:420100").covers_project("420111", "automotive")  # 洪山区, in 武汉市
    assert not of("pref:420500").covers_project("420111", "automotive")
    assert of("county:420111").covers_project("420111", "biotech")
    assert not of("county:420111").covers_project("420102", "biotech")
    assert of("dept:jingxin").covers_project("420506", "integrated_circuit")
    assert not of("dept:jingxin").covers_project("420506", "automotive")
    assert of("dept:jingxin").covers_unit("dept:jingxin")
    assert not of("dept:jingxin").covers_unit("420100")
    assert of("office").covers_unit("dept:fagai") and of("office").covers_project("420111", "x")
    with pytest.raises(NotPermitted) as refused:
        of("pref:420100").check_office("source", "甄别", "verify")
    assert refused.value.rule == "office_only"


def test_a_quarter_split_per_sender_keeps_every_report_after_what_it_depends_on():
    reports = generate_demo("2020Q3")
    runs = by_sender(reports)
    order = [r["event_id"] for _, run in runs for r in run]
    assert sorted(order) == sorted(r["event_id"] for r in reports)
    assert all(r["source"] == sender for sender, run in runs for r in run)
    place = {event_id: n for n, event_id in enumerate(order)}
    reported = {}
    for report in reports:
        payload = report["payload"]
        if "milestone_event_id" in payload:  # a check after the report it checks
            assert place[payload["milestone_event_id"]] < place[report["event_id"]]
        if code := payload.get("project_code"):  # a project's reports in the order sent
            if code in reported:
                assert place[reported[code]] < place[report["event_id"]]
            reported[code] = report["event_id"]
    assert len(runs) < 30  # one run per system and phase, not one per change of sender
