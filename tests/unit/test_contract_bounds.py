"""Every report is bounded before it is read: its size, its depth, its lists, its numbers and the
number of errors it is answered with. Each hostile report of issue 14 is one clean rejection,
found with little work, never an exception."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from services.kernel.contract.messages import MESSAGES
from services.kernel.contract.report import validate_report
from services.kernel.contract.vocabulary import (
    MAX_COMPANIES_MET,
    MAX_DEPTH,
    MAX_ERRORS,
    MAX_EVENT_BYTES,
)
from tests.contract_examples import TODAY, VALID_PAYLOADS, raw_report, rejection


def nested(depth: int) -> dict[str, Any]:
    """{"a": {"a": ... {}}}, `depth` objects deep, built without recursion."""
    inner: dict[str, Any] = {}
    for _ in range(depth - 1):
        inner = {"a": inner}
    return inner


@pytest.mark.parametrize("depth", [900, 100_000])
def test_a_policy_nested_too_deep_is_one_clean_rejection(depth):
    (found,) = rejection(raw_report("policy.adopted", policy=nested(depth)))
    assert found.rule == "too_deep"
    assert found.field.startswith("payload.policy.a.a")
    assert str(MAX_DEPTH) in found.message_en


def test_a_policy_as_deep_as_allowed_is_accepted():
    policy = nested(MAX_DEPTH - 2)  # the report and its payload are the first two levels
    assert validate_report(raw_report("policy.adopted", policy=policy), today=TODAY)


def test_half_a_million_companies_met_are_one_error_found_with_little_memory():
    """Was: one bilingual error per item, 1.08 GiB and 13 s in the gateway."""
    raw = raw_report("leader.trip_completed", companies_met=list(range(500_000)))
    tracemalloc.start()
    try:
        errors = rejection(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(e.field, e.rule) for e in errors] == [("", "too_large")]
    assert str(MAX_EVENT_BYTES) in errors[0].message_en
    assert peak < 4 * 1024 * 1024


def test_a_report_just_under_the_size_limit_is_read():
    policy = {"notes": ["说明" * 100] * 80}  # about 48 KiB as UTF-8
    assert validate_report(raw_report("policy.adopted", policy=policy), today=TODAY)


def test_a_trip_meets_at_most_fifty_companies():
    companies = [f"公司{i}" for i in range(MAX_COMPANIES_MET + 1)]
    (found,) = rejection(raw_report("leader.trip_completed", companies_met=companies))
    assert (found.field, found.rule) == ("payload.companies_met", "too_many_items")
    raw = raw_report("leader.trip_completed", companies_met=companies[:MAX_COMPANIES_MET])
    assert len(validate_report(raw, today=TODAY).payload["companies_met"]) == MAX_COMPANIES_MET


def test_categories_are_counted_before_they_are_read():
    (found,) = rejection(raw_report("project.proposed", categories=["mall"] * 8))
    assert (found.field, found.rule) == ("payload.categories", "too_many_items")


def test_a_report_is_answered_with_at_most_twenty_errors_and_a_count_of_the_rest():
    errors = rejection(raw_report("leader.trip_completed", companies_met=list(range(50))))
    assert len(errors) == MAX_ERRORS + 1
    assert {e.rule for e in errors[:MAX_ERRORS]} == {"invalid_type"}
    assert errors[-1].rule == "more_errors"
    assert "30 more" in errors[-1].message_en and "30" in errors[-1].message_zh


def test_unknown_fields_by_the_thousand_are_twenty_errors_and_a_count():
    raw = raw_report("project.signed", **{f"x{i}": i for i in range(3000)})
    errors = rejection(raw)
    assert [e.rule for e in errors] == ["unknown_field"] * MAX_ERRORS + ["more_errors"]
    assert str(3000 - MAX_ERRORS) in errors[-1].message_en


@pytest.mark.parametrize("digits", [25, 5000])
def test_an_integer_of_absurd_size_is_refused_without_writing_it_out(digits):
    """Python refuses to turn an integer over 4,300 digits into text: no error may try."""
    (found,) = rejection({**raw_report("project.signed"), "schema_version": 10**digits})
    assert (found.field, found.rule) == ("schema_version", "number_too_large")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1, 2}, b"bytes", object()])
def test_a_value_json_cannot_carry_is_refused(value):
    (found,) = rejection(raw_report("policy.adopted", policy={"weights": value}))
    assert (found.field, found.rule) == ("payload.policy.weights", "not_json_value")


def test_a_key_that_is_not_text_is_refused():
    (found,) = rejection(raw_report("policy.adopted", policy={1: "one"}))
    assert (found.field, found.rule) == ("payload.policy.1", "not_json_value")


def test_the_valid_examples_are_well_within_the_bounds():
    assert all(len(str(payload)) < MAX_EVENT_BYTES / 16 for payload in VALID_PAYLOADS.values())


def test_the_readme_lists_every_rule_the_contract_can_refuse_a_report_with():
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    limits = readme.split("\n## Limits\n", 1)[1].split("\n## ", 1)[0]
    assert [rule for rule in MESSAGES if f"`{rule}`" not in limits] == []
    assert f"{MAX_EVENT_BYTES // 1024} KiB" in limits and f"{MAX_DEPTH} levels" in limits


def test_a_field_named_by_a_long_key_is_answered_clipped():
    (found,) = rejection(raw_report("project.signed", **{"k" * 10_000: 1}))
    assert found.rule == "unknown_field"
    assert len(found.field) <= 80 and len(found.message_en) < 400
