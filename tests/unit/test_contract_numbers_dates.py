"""Amounts and dates as a sender writes them: decimal strings read to the last place and never
rounded, business dates within their window (2000-01-01 to tomorrow in Asia/Shanghai), and a
trip reported once it is over."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from services.kernel.contract.errors import ReportInvalid
from services.kernel.contract.report import validate_report
from tests.contract_examples import TODAY, raw_report, rejection, the_error

# Amounts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["-3", "0", "0.0000"])
def test_a_zero_or_negative_investment_is_refused(amount):
    found = the_error(raw_report("project.proposed", total_investment=amount))
    assert (found.field, found.rule) == ("payload.total_investment", "must_be_positive")


@pytest.mark.parametrize("amount", ["abc", "NaN", "Infinity", "1e3", "25.", "２５", " 25", ""])
def test_an_investment_that_is_not_a_decimal_is_refused(amount):
    found = the_error(raw_report("project.proposed", total_investment=amount))
    assert (found.field, found.rule) == ("payload.total_investment", "not_a_decimal")


@pytest.mark.parametrize("amount", [25.5, 25])
def test_money_sent_as_a_json_number_is_refused_with_an_example_string(amount):
    found = the_error(raw_report("project.capital_arrived", amount=amount))
    assert (found.field, found.rule, found.value) == (
        "payload.amount",
        "decimal_string_required",
        str(amount),
    )
    assert '"25.5"' in found.message_zh


def test_money_with_more_than_four_decimal_places_is_refused():
    found = the_error(raw_report("project.signed", contract_investment="1.00001"))
    assert (found.field, found.rule) == ("payload.contract_investment", "too_many_decimal_places")


def test_an_amount_sent_in_yuan_instead_of_yi_yuan_is_refused():
    found = the_error(raw_report("project.capital_arrived", amount="2550000000"))
    assert (found.field, found.rule) == ("payload.amount", "amount_too_large")


def test_an_amount_is_never_rounded_to_fit():
    """Read as a Decimal first, this rounded to 28 digits and became 10000, which passed."""
    amount = "9999.9999999999999999999999999999"
    found = the_error(raw_report("project.capital_arrived", amount=amount))
    assert (found.field, found.rule, found.value) == (
        "payload.amount",
        "too_many_decimal_places",
        amount,
    )


@pytest.mark.parametrize("digits", [41, 60_000])
def test_an_amount_longer_than_forty_characters_is_refused_before_any_arithmetic(digits):
    (found,) = rejection(raw_report("project.capital_arrived", amount="1" * digits))
    assert (found.field, found.rule) == ("payload.amount", "too_long")
    assert len(found.value) <= 80 and len(found.message_en) < 200


def test_an_amount_of_a_million_digits_is_refused_with_the_report_too_large():
    found = the_error(raw_report("project.capital_arrived", amount="1" * 1_000_000))
    assert (found.field, found.rule) == ("", "too_large")


@pytest.mark.parametrize(
    ("sent", "loaded"),
    [
        ("0" * 39 + "1", Decimal(1)),
        ("0.10000000000000000000", Decimal("0.1")),
        ("10000.0000", Decimal(10000)),
        ("100", Decimal(100)),
        ("0.0001", Decimal("0.0001")),
    ],
)
def test_an_amount_within_its_bounds_loads_exactly(sent, loaded):
    report = validate_report(raw_report("project.signed", contract_investment=sent), today=TODAY)
    assert str(report.payload["contract_investment"]) == str(loaded)


@pytest.mark.parametrize(
    ("amount", "rule"), [("10000.0001", "amount_too_large"), ("-0.00001", "must_be_positive")]
)
def test_an_amount_just_outside_its_bounds_is_refused(amount, rule):
    assert the_error(raw_report("project.capital_arrived", amount=amount)).rule == rule


# Dates ---------------------------------------------------------------------------------------


def test_a_report_dated_tomorrow_is_within_the_tolerance():
    raw = {**raw_report("project.signed"), "occurred_on": "2020-09-16"}
    assert validate_report(raw, today=TODAY).occurred_on == date(2020, 9, 16)


def test_a_report_dated_beyond_tomorrow_is_refused():
    raw = {**raw_report("project.signed"), "occurred_on": "2020-09-17"}
    found = the_error(raw)
    assert (found.field, found.rule) == ("occurred_on", "occurred_in_future")
    assert "2020-09-15" in found.message_zh


@pytest.mark.parametrize("day", ["1999-12-31", "0001-01-01"])
def test_a_report_dated_before_the_earliest_business_date_is_refused(day):
    """Changed by issue 14: the window starts at EARLIEST_DATE (2000-01-01), not at the plan
    year, so the rule is `before_earliest_date` (was `before_plan_year` from 2020-01-01)."""
    found = the_error({**raw_report("project.signed"), "occurred_on": day})
    assert (found.field, found.rule) == ("occurred_on", "before_earliest_date")
    assert "2000-01-01" in found.message_en


@pytest.mark.parametrize("day", ["2020-02-30", "20200910", "2020-9-10", "2020-09-10T08:00:00"])
def test_a_date_that_is_not_an_iso_date_is_refused(day):
    found = the_error({**raw_report("project.signed"), "occurred_on": day})
    assert (found.field, found.rule) == ("occurred_on", "date_format")


def test_the_default_today_is_the_date_in_shanghai():
    raw = {**raw_report("project.signed"), "occurred_on": "2999-01-01"}
    with pytest.raises(ReportInvalid) as caught:
        validate_report(raw)
    assert caught.value.errors[0].rule == "occurred_in_future"


def test_a_trip_that_returns_before_it_departed_is_refused():
    raw = raw_report("leader.trip_completed", departed_on="2020-09-03", returned_on="2020-09-01")
    found = the_error(raw)
    assert (found.field, found.rule) == ("payload.returned_on", "returned_before_departed")
    assert "2020-09-03" in found.message_zh


def test_tomorrow_in_shanghai_is_accepted_by_default():
    tomorrow = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)
    raw = {**raw_report("project.signed"), "occurred_on": tomorrow.isoformat()}
    assert validate_report(raw).occurred_on == tomorrow


@pytest.mark.parametrize(
    ("type", "occurred_on"), [("leader.appointed", "2018-03-01"), ("project.signed", "2019-06-30")]
)
def test_facts_from_before_the_plan_are_accepted(type, occurred_on):
    """A leader appointed in 2018 or a project signed in 2019 is a real fact."""
    raw = {**raw_report(type), "occurred_on": occurred_on}
    assert validate_report(raw, today=TODAY).occurred_on == date.fromisoformat(occurred_on)


def test_a_trip_dated_before_the_earliest_business_date_is_refused():
    raw = raw_report("leader.trip_completed", departed_on="0001-01-01")
    found = the_error(raw)
    assert (found.field, found.rule) == ("payload.departed_on", "before_earliest_date")


def test_a_trip_reported_before_its_return_is_refused():
    raw = raw_report("leader.trip_completed", departed_on="2020-09-01", returned_on="9999-12-31")
    found = the_error(raw)
    assert (found.field, found.rule, found.value) == (
        "payload.returned_on",
        "reported_before_return",
        "9999-12-31",
    )
    assert "2020-09-10" in found.message_zh


def test_a_trip_is_reported_on_the_day_it_returns_or_later():
    raw = {
        **raw_report("leader.trip_completed", returned_on="2020-09-10"),
        "occurred_on": "2020-09-10",
    }
    assert validate_report(raw, today=TODAY).payload["returned_on"] == date(2020, 9, 10)


def test_a_trip_cannot_be_reported_into_a_quarter_not_yet_begun():
    """Tomorrow is tolerated for a report's date, but not for a trip into the next quarter."""
    raw = {
        **raw_report("leader.trip_completed", returned_on="2020-10-01"),
        "occurred_on": "2020-10-01",
    }
    with pytest.raises(ReportInvalid) as caught:
        validate_report(raw, today=date(2020, 9, 30))
    (found,) = caught.value.errors
    assert (found.field, found.rule) == ("payload.returned_on", "trip_in_future_quarter")
    assert "2020Q4" in found.message_en


@pytest.mark.parametrize("quarter", ["1999Q4", "0000Q1"])
def test_a_policy_cannot_take_effect_before_the_earliest_quarter(quarter):
    found = the_error(raw_report("policy.adopted", effective_from=quarter))
    assert (found.field, found.rule) == ("payload.effective_from", "before_earliest_date")
    assert "2000Q1" in found.message_en
