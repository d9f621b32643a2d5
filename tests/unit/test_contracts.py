"""Public contract v1: what a sending system may report, and what it hears when it gets it wrong."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from services.kernel.contract import ids
from services.kernel.contract.errors import ReportInvalid, error
from services.kernel.contract.fields import credit_code_check_character
from services.kernel.contract.report import Report, validate_report
from services.kernel.contract.schemas import PAYLOADS
from services.kernel.contract.vocabulary import (
    DEPARTMENT_ROLES,
    EVENT_TYPES,
    MILESTONE_TYPES,
    OWNER,
    REGION_ROLES,
)
from services.kernel.reference import reference
from tests.contract_examples import (
    HUAWEI_CREDIT_CODE,
    JIANG_AN,
    TODAY,
    VALID_PAYLOADS,
    WUHAN,
    raw_report,
    rejection,
    the_error,
)


@pytest.fixture
def make_report():
    """A valid raw report of `type`; keyword arguments replace payload fields."""
    return raw_report


# What passes ---------------------------------------------------------------------------------


def test_the_contract_covers_every_type_once_with_its_owner():
    assert set(VALID_PAYLOADS) == set(EVENT_TYPES) == set(OWNER) == set(PAYLOADS)
    assert set(OWNER.values()) == {"registry", "tracking", "scoring"}
    assert set(EVENT_TYPES) >= MILESTONE_TYPES


@pytest.mark.parametrize("type", EVENT_TYPES)
def test_every_type_has_a_valid_example_that_passes_and_round_trips(make_report, type):
    raw = make_report(type)
    report = validate_report(raw, today=TODAY)
    assert report.type == type
    assert report.event_id == uuid.UUID(raw["event_id"])
    assert Report.from_primitive(report.to_primitive()) == report
    assert Report.from_primitive(report.to_primitive()).digest() == report.digest()


def test_reports_cross_the_bus_unchanged_without_being_validated_again():
    """Services rebuild what the gateway validated from its primitive form (from_primitive):
    every report of the demo and of a load comes out equal, typed alike, with its digest."""
    from tools.demo import generate_demo
    from tools.loadgen import generate_load

    raws = generate_demo("2020Q3") + generate_load(2000, seed=5)
    for raw in raws:
        report = validate_report(raw)
        rebuilt = Report.from_primitive(report.to_primitive())
        assert rebuilt == report, raw
        assert rebuilt.to_primitive() == report.to_primitive()
        assert rebuilt.digest() == report.digest()
        for key, value in report.payload.items():
            assert type(rebuilt.payload[key]) is type(value), (raw["type"], key)
    assert len({raw["type"] for raw in raws}) >= 15


def test_money_becomes_a_decimal_and_dates_become_dates(make_report):
    proposed = validate_report(make_report("project.proposed"), today=TODAY)
    trip = validate_report(make_report("leader.trip_completed"), today=TODAY)
    assert proposed.payload["total_investment"] == Decimal("25.5")
    assert proposed.occurred_on == date(2020, 9, 10)
    assert trip.payload["returned_on"] == date(2020, 9, 3)


def test_the_primitive_form_is_json_safe_with_amounts_as_strings(make_report):
    primitive = validate_report(make_report("project.capital_arrived"), today=TODAY).to_primitive()
    assert primitive["payload"]["amount"] == "3.25"
    assert primitive["occurred_on"] == "2020-09-10"
    assert isinstance(primitive["event_id"], str)


def test_the_same_amount_spelt_differently_gives_the_same_report_and_digest(make_report):
    plain = make_report("project.signed", contract_investment="24")
    padded = {**plain, "payload": {**plain["payload"], "contract_investment": "024.000"}}
    a, b = validate_report(plain, today=TODAY), validate_report(padded, today=TODAY)
    assert a.to_primitive() == b.to_primitive()
    assert a.digest() == b.digest()


def test_a_digest_changes_with_the_content(make_report):
    raw = make_report("project.capital_arrived")
    more = {**raw, "payload": {**raw["payload"], "amount": "3.26"}}
    assert validate_report(raw, today=TODAY).digest() != validate_report(more, today=TODAY).digest()


def test_optional_fields_take_their_defaults(make_report):
    raw = make_report("project.proposed", investor={"name": "某外资企业", "origin": "JP"})
    del raw["payload"]["categories"]
    payload = validate_report(raw, today=TODAY).payload
    assert payload["categories"] == []
    assert payload["investor"]["fortune_global_500"] is False


@pytest.mark.parametrize(
    "source", ["office", "pref:420100", "pref:429021", "county:420102", "dept:shangwu"]
)
def test_every_kind_of_sending_system_is_accepted(make_report, source):
    raw = {**make_report("project.tracking_started"), "source": source}
    assert validate_report(raw, today=TODAY).source == source


@pytest.mark.parametrize("code", [HUAWEI_CREDIT_CODE, "91420100MA4K2X5Q38"])
def test_a_credit_code_with_the_right_check_digit_is_accepted(make_report, code):
    raw = make_report("project.company_registered", credit_code=code)
    assert validate_report(raw, today=TODAY).payload["credit_code"] == code


def test_the_leader_roles_are_those_of_the_reference_data():
    roles = reference().leader_roles
    assert set(REGION_ROLES + DEPARTMENT_ROLES) == set(roles)
    assert {k for k, r in roles.items() if r.applies_to == "department"} == set(DEPARTMENT_ROLES)


# What is refused, and how it is explained -----------------------------------------------------


@pytest.mark.parametrize("region", ["110101", "429999"])
def test_a_region_outside_hubei_or_unknown_is_refused(make_report, region):
    found = the_error(make_report("project.proposed", region=region))
    assert (found.field, found.rule, found.value) == ("payload.region", "not_hubei_region", region)
    assert "湖北" in found.message_zh


def test_a_region_that_is_not_a_six_digit_code_is_refused(make_report):
    found = the_error(make_report("project.proposed", region="武汉"))
    assert (found.field, found.rule) == ("payload.region", "region_code_format")


def test_a_credit_code_with_a_wrong_check_digit_is_refused(make_report):
    wrong = HUAWEI_CREDIT_CODE[:17] + "7"
    found = the_error(make_report("project.company_registered", credit_code=wrong))
    assert (found.field, found.rule) == ("payload.credit_code", "credit_code_check_digit")
    assert "应为 6" in found.message_zh


@pytest.mark.parametrize(
    "code", ["91440300192203821", "914403001922038216X", "91440300192203821o", "9144030019220382I6"]
)
def test_a_credit_code_of_the_wrong_shape_is_refused(make_report, code):
    found = the_error(make_report("project.company_registered", credit_code=code))
    assert (found.field, found.rule) == ("payload.credit_code", "credit_code_format")


def test_the_check_character_follows_gb_32100():
    assert credit_code_check_character(HUAWEI_CREDIT_CODE[:17]) == "6"


def test_an_unknown_event_type_is_refused(make_report):
    found = the_error({**make_report("project.signed"), "type": "project.signd"})
    assert (found.field, found.rule, found.value) == ("type", "unknown_event_type", "project.signd")


@pytest.mark.parametrize("version", [2, 0])
def test_an_unsupported_schema_version_is_refused(make_report, version):
    found = the_error({**make_report("project.signed"), "schema_version": version})
    assert (found.field, found.rule) == ("schema_version", "unsupported_schema_version")


@pytest.mark.parametrize("version", ["1", 1.0, True])
def test_a_schema_version_that_is_not_an_integer_is_refused(make_report, version):
    found = the_error({**make_report("project.signed"), "schema_version": version})
    assert (found.field, found.rule) == ("schema_version", "invalid_type")


def test_an_unknown_envelope_field_is_refused(make_report):
    found = the_error({**make_report("project.signed"), "occured_on": "2020-09-10"})
    assert (found.field, found.rule, found.value) == ("occured_on", "unknown_field", "2020-09-10")


def test_an_unknown_payload_field_is_refused(make_report):
    found = the_error(make_report("project.signed", contract_investmnet="24"))
    assert (found.field, found.rule) == ("payload.contract_investmnet", "unknown_field")


def test_an_unknown_field_inside_the_investor_is_refused(make_report):
    investor = {**VALID_PAYLOADS["project.proposed"]["investor"], "nickname": "紫光"}
    found = the_error(make_report("project.proposed", investor=investor))
    assert (found.field, found.rule) == ("payload.investor.nickname", "unknown_field")


@pytest.mark.parametrize(
    "source",
    [
        "pref:420102",
        "pref:110000",
        "county:110101",
        "county:420100",
        "dept:nobody",
        "city:420100",
        "",
    ],
)
def test_a_sending_system_that_is_not_known_is_refused(make_report, source):
    found = the_error({**make_report("project.signed"), "source": source})
    assert (found.field, found.rule, found.value) == ("source", "unknown_source", source)


@pytest.mark.parametrize("destination", ["湖北省宜昌市", "CN-42", "420500"])
def test_a_trip_inside_hubei_is_left_to_tracking_which_knows_whose_trip_it_is(
    make_report, destination
):
    """(二十一) counts a government leader's trips out of Hubei, (二十二) a department leader's
    trips wherever they go: the contract alone cannot tell (tests/unit/test_hubei_places.py)."""
    raw = make_report("leader.trip_completed", destination=destination)
    report = validate_report(raw, today=TODAY)
    assert report.payload["destination"] == destination


def test_an_unknown_industry_is_refused(make_report):
    found = the_error(make_report("project.proposed", industry="chips"))
    assert (found.field, found.rule, found.value) == (
        "payload.industry",
        "unknown_industry",
        "chips",
    )


def test_an_unknown_task_is_refused(make_report):
    found = the_error(make_report("task.completed", task_id="build_a_rocket"))
    assert (found.field, found.rule) == ("payload.task_id", "unknown_task")


def test_an_unknown_matter_is_refused(make_report):
    found = the_error(make_report("matter.progress_reported", matter_id="guangdong-99"))
    assert (found.field, found.rule) == ("payload.matter_id", "unknown_matter")


def test_a_promotion_event_must_be_held_by_a_prefecture(make_report):
    found = the_error(make_report("promotion.event_held", unit=JIANG_AN))
    assert (found.field, found.rule) == ("payload.unit", "not_prefecture")


def test_a_unit_of_an_unknown_department_is_refused(make_report):
    found = the_error(make_report("task.completed", unit="dept:nobody"))
    assert (found.field, found.rule) == ("payload.unit", "unknown_department")


def test_a_department_leader_cannot_hold_a_government_role(make_report):
    found = the_error(make_report("leader.appointed", unit="dept:shangwu", role="principal"))
    assert (found.field, found.rule) == ("payload.role", "role_unit_mismatch")


def test_a_role_outside_the_contract_is_refused(make_report):
    found = the_error(make_report("leader.appointed", role="mayor"))
    assert (found.field, found.rule) == ("payload.role", "not_one_of")
    assert "investment_lead" in found.message_en


@pytest.mark.parametrize("origin", ["cn-11", "CHN", "CN-4", "Japan"])
def test_an_investor_origin_that_is_not_an_iso_code_is_refused(make_report, origin):
    investor = {**VALID_PAYLOADS["project.proposed"]["investor"], "origin": origin}
    found = the_error(make_report("project.proposed", investor=investor))
    assert (found.field, found.rule) == ("payload.investor.origin", "origin_format")


def test_an_unknown_category_is_refused_at_its_position(make_report):
    found = the_error(make_report("project.proposed", categories=["modern_services", "mall"]))
    assert (found.field, found.rule, found.value) == ("payload.categories.1", "not_one_of", "mall")


def test_a_category_listed_twice_is_refused(make_report):
    found = the_error(make_report("project.proposed", categories=["real_estate", "real_estate"]))
    assert (found.field, found.rule) == ("payload.categories", "duplicate_item")


def test_a_flag_sent_as_text_is_refused(make_report):
    investor = {**VALID_PAYLOADS["project.proposed"]["investor"], "fortune_global_500": "true"}
    found = the_error(make_report("project.proposed", investor=investor))
    assert (found.field, found.rule) == ("payload.investor.fortune_global_500", "invalid_type")


def test_a_missing_field_is_named(make_report):
    raw = make_report("project.assigned")
    del raw["payload"]["plan"]
    errors = rejection(raw)
    assert [(e.field, e.rule) for e in errors] == [("payload.plan", "required")]
    assert "payload.plan" in errors[0].message_zh


@pytest.mark.parametrize("field", ["investor", "categories", "name"])
def test_a_null_is_refused_where_a_value_is_expected(make_report, field):
    found = the_error(make_report("project.proposed", **{field: None}))
    assert (found.field, found.rule) == (f"payload.{field}", "null_not_allowed")


def test_a_blank_name_is_refused(make_report):
    found = the_error(make_report("project.assigned", leader="  "))
    assert (found.field, found.rule) == ("payload.leader", "blank")


@pytest.mark.parametrize("sent", ["42", "１" * 32, "0" * 31 + "_1"])
def test_a_milestone_must_be_named_by_its_uuid(make_report, sent):
    found = the_error(make_report("milestone.verified", milestone_event_id=sent))
    assert (found.field, found.rule) == ("payload.milestone_event_id", "uuid_format")


def test_a_policy_takes_effect_from_a_quarter(make_report):
    found = the_error(make_report("policy.adopted", effective_from="2020-07"))
    assert (found.field, found.rule) == ("payload.effective_from", "quarter_format")


def test_a_payload_that_is_not_an_object_is_refused(make_report):
    found = the_error({**make_report("project.signed"), "payload": ["WH-2020-001"]})
    assert (found.field, found.rule) == ("payload", "invalid_type")


def test_a_report_that_is_not_an_object_is_refused():
    found = the_error(["not", "a", "report"])
    assert found.rule == "report_not_an_object"


def test_every_error_of_a_report_is_listed_at_once(make_report):
    raw = {**make_report("project.proposed", region="110101", total_investment=25.5), "source": "x"}
    errors = rejection(raw)
    assert {(e.field, e.rule) for e in errors} == {
        ("source", "unknown_source"),
        ("payload.region", "not_hubei_region"),
        ("payload.total_investment", "decimal_string_required"),
    }


def test_a_refusal_carries_the_event_id_to_answer_under(make_report):
    raw = make_report("project.signed", contract_investment="0")
    with pytest.raises(ReportInvalid) as caught:
        validate_report(raw, today=TODAY)
    assert caught.value.event_id == raw["event_id"]
    with pytest.raises(ReportInvalid) as caught:
        validate_report({**raw, "event_id": "not-a-uuid"}, today=TODAY)
    assert caught.value.event_id == "not-a-uuid"
    assert [e.rule for e in caught.value.errors] == ["uuid_format", "must_be_positive"]


# Corrections ---------------------------------------------------------------------------------


def test_a_correction_must_change_something(make_report):
    found = the_error(make_report("project.corrected", changes={}))
    assert (found.field, found.rule) == ("payload.changes", "empty_changes")


def test_a_correction_cannot_change_the_project_code(make_report):
    found = the_error(make_report("project.corrected", changes={"project_code": "WH-2"}))
    assert (found.field, found.rule) == ("payload.changes.project_code", "not_correctable")


def test_a_corrected_value_is_checked_as_when_proposed(make_report):
    errors = rejection(
        make_report("project.corrected", changes={"total_investment": 30, "region": "110101"})
    )
    assert {(e.field, e.rule) for e in errors} == {
        ("payload.changes.total_investment", "decimal_string_required"),
        ("payload.changes.region", "not_hubei_region"),
    }


def test_a_corrected_investor_is_checked_whole(make_report):
    found = the_error(make_report("project.corrected", changes={"investor": {"name": "紫光集团"}}))
    assert (found.field, found.rule) == ("payload.changes.investor.origin", "required")


def test_a_correction_loads_its_values(make_report):
    payload = validate_report(make_report("project.corrected"), today=TODAY).payload
    assert payload["changes"] == {"total_investment": Decimal(30), "region": WUHAN}


# Errors and identities -----------------------------------------------------------------------


def test_an_error_keeps_at_most_80_characters_of_the_value():
    found = error("payload.name", "长" * 200, "too_long", "太长", "too long")
    assert len(found.value) == 80
    assert found.to_dict() == {
        "field": "payload.name",
        "value": found.value,
        "rule": "too_long",
        "message_zh": "太长",
        "message_en": "too long",
    }


def test_ids_derived_from_the_same_key_are_the_same_aggregate():
    event_id = uuid.uuid4()
    assert ids.receipt_id(event_id) == ids.receipt_id(str(event_id).upper())
    assert ids.project_id("WH-1") == ids.project_id("WH-1") != ids.milestones_id("WH-1")
    assert ids.leader_id("wuhan-mayor").version == 5
