"""Raw JSON as every transport hands it to the contract (`parse_json`): whatever the bytes, the
answer is a value or a `JsonRefused` naming the field, an excerpt and the rule."""

from __future__ import annotations

import json

import pytest

from services.kernel.contract.errors import Problem
from services.kernel.contract.jsontext import JsonRefused, parse_json
from services.kernel.contract.report import validate_report
from services.kernel.contract.vocabulary import MAX_EVENT_BYTES
from tests.contract_examples import TODAY, raw_report, rejection


def refusal(data: bytes | str, **limits: int) -> JsonRefused:
    with pytest.raises(JsonRefused) as caught:
        parse_json(data, field="body", **limits)
    refused = caught.value
    assert isinstance(refused, Problem) and refused.field == "body"
    refused.to_field_error().message_zh.encode("utf-8")
    return refused


def test_a_report_parses_to_what_validate_report_reads():
    raw = raw_report("project.signed")
    parsed = parse_json(json.dumps(raw, ensure_ascii=False).encode(), field="body")
    assert validate_report(parsed, today=TODAY).payload["contract_investment"] == 24


def test_text_over_the_limit_is_refused_before_it_is_decoded():
    refused = refusal(b"\xff" * (MAX_EVENT_BYTES + 1))
    assert refused.rule == "too_large"
    assert refusal(b"[" + b"1," * 100 + b"1]", max_bytes=100).rule == "too_large"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"a": "\xff"}', "not UTF-8 at byte 7"),
        (b'{"a": 1,}', "line 1, column 9"),
        (b"", "line 1, column 1"),
        (b"NaN", "NaN is not JSON"),
        (b'{"a": -Infinity}', "-Infinity is not JSON"),
    ],
)
def test_what_is_not_json_is_refused_saying_where(data, reason):
    refused = refusal(data)
    assert refused.rule == "not_json"
    assert reason in refused.message_en


def test_nesting_past_the_parsers_recursion_is_too_deep():
    assert refusal(b"[" * 20_000 + b"]" * 20_000).rule == "too_deep"


@pytest.mark.parametrize(
    "number", [b"1" * 5000, b"1" * 25, b"-" + b"9" * 30, b"1e999", b"0." + b"1" * 40]
)
def test_a_number_too_long_to_read_is_refused_before_python_reads_it(number):
    """Python's int() refuses over 4,300 digits with a ValueError of its own."""
    assert refusal(b'{"schema_version": ' + number + b"}").rule == "number_too_large"


def test_a_key_twice_in_one_object_is_refused():
    refused = refusal(b'{"type": "project.signed", "type": "project.withdrawn"}')
    assert (refused.rule, refused.value) == ("duplicate_key", "type")


def test_text_is_accepted_as_str_too():
    assert parse_json('{"名称": "长江存储"}', field="payload_json") == {"名称": "长江存储"}


def test_an_escaped_lone_surrogate_parses_and_the_report_is_then_refused():
    raw = json.loads(json.dumps(raw_report("project.proposed")))
    raw["payload"]["name"] = "PLACEHOLDER"
    body = json.dumps(raw).replace("PLACEHOLDER", "\\ud800").encode()
    (found,) = rejection(parse_json(body, field="body"))
    assert (found.field, found.rule) == ("payload.name", "lone_surrogate")


def test_a_policy_nested_900_deep_parses_and_is_refused_as_too_deep():
    raw = json.loads(json.dumps(raw_report("policy.adopted")))
    raw["payload"]["policy"] = "PLACEHOLDER"
    deep = '{"a": ' * 900 + "{}" + "}" * 900
    body = json.dumps(raw).replace('"PLACEHOLDER"', deep).encode()
    (found,) = rejection(parse_json(body, field="body"))
    assert found.rule == "too_deep"
