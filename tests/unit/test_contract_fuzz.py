"""Property-based fuzz of the contract (issue 14), with hypothesis: every report type, its fields
mutated, removed and added, given the wrong types, odd Unicode, huge and deep values; and raw
bytes as a transport hands them in.

The property: `validate_report` returns a Report or raises ReportInvalid with named errors (at
most MAX_ERRORS and one count of the rest), each safe to encode and answer; an accepted report
digests, travels and comes back equal; `parse_json` returns a value or raises JsonRefused.
Never any other exception. Inputs are bounded (a few MiB at most) and the number of examples
per run is fixed; nothing is timed. Failing examples are kept in hypothesis's example database
(.hypothesis/, not committed) and tried first on the next run.

The few examples per type below run in every `make test`; the `fuzz`-marked ones try many more
(deselect them with `-m 'not fuzz'`).
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.kernel.contract.errors import VALUE_WIDTH, FieldError, ReportInvalid
from services.kernel.contract.jsontext import JsonRefused, parse_json
from services.kernel.contract.messages import MESSAGES
from services.kernel.contract.report import Report, validate_report
from services.kernel.contract.vocabulary import EVENT_TYPES, MAX_DEPTH, MAX_ERRORS, OWNER
from tests.contract_examples import TODAY, raw_report

QUICK, THOROUGH = 30, 150  # examples per report type: every run, and the `fuzz` run
FUZZING = settings(
    deadline=None,  # nothing here is timed
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Text: any code point (surrogates too), and the characters the text rules are about.
ODD = "\x00\t\n\r\x1b\x7f\x85\u00ad\u200b\u200d\u202e\u2066\u2069\u3164\ufdd0\ufeff\uffff"
characters = st.one_of(
    st.characters(),
    st.characters(categories=["Cs", "Cc", "Cf", "Co", "Cn", "Mn"]),
    st.sampled_from(ODD + "\U0010fffe\U0001f600e\u0301长江"),
)
texts = st.text(characters, max_size=40)
lookalikes = st.one_of(
    st.from_regex(r"-?[0-9]{1,45}(\.[0-9]{0,40})?", fullmatch=True),  # amounts
    st.from_regex(r"[0-9]{1,5}-[0-9]{1,2}-[0-9]{1,2}", fullmatch=True),  # dates
    st.dates().map(lambda day: day.isoformat()),
    st.from_regex(r"[0-9]{4}Q[0-9]", fullmatch=True),  # quarters
    st.uuids().map(str),
    st.sampled_from(["office", "pref:420100", "dept:shangwu", "420102", "CN-42", *EVENT_TYPES]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=4200, max_value=5000).map(lambda digits: 10**digits),
    st.floats(),
    texts,
    lookalikes,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


def nested(depth: int, inner: Any = None) -> Any:
    for _ in range(depth):
        inner = [inner]
    return inner


HUGE: list[Callable[[], Any]] = [
    lambda: "长" * 70_000,
    lambda: "9" * 1_000_000,
    lambda: list(range(100_000)),
    lambda: [f"公司{i}" for i in range(60)],
    lambda: {f"k{i}": i for i in range(3_000)},
    lambda: nested(MAX_DEPTH + 1),
    lambda: nested(900),
    lambda: nested(50_000),
    lambda: 10**10_000,
]
hostile = st.one_of(json_values, st.sampled_from(HUGE).map(lambda build: build()))


def places(value: Any, path: tuple = (), depth: int = 4) -> list[tuple]:
    """The path of `value` and of what it holds, a few levels and items deep (not into what an
    earlier mutation made huge)."""
    found = [path]
    if depth and isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in itertools.islice(items, 12):
            found += places(child, (*path, key), depth - 1)
    return found


def at(value: Any, path: tuple) -> Any:
    for step in path:
        value = value[step]
    return value


@st.composite
def mutated(draw: st.DrawFn, type: str) -> Any:
    """A valid report of `type` with one to three mutations."""
    raw: Any = raw_report(type)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(places(raw)))
        how = draw(st.sampled_from(["replace", "remove", "add", "retype", "swap type"]))
        if not path:
            raw = draw(hostile) if how == "replace" else raw
            continue
        parent, key = at(raw, path[:-1]), path[-1]
        if not isinstance(parent, dict | list):
            continue
        if how == "replace":
            parent[key] = draw(hostile)
        elif how == "remove":
            del parent[key]
        elif how == "add" and isinstance(parent, dict):
            parent[draw(texts)] = draw(hostile)
        elif how == "retype":
            parent[key] = retyped(parent[key], draw(st.sampled_from(["list", "object", "text"])))
        elif how == "swap type" and isinstance(raw, dict):
            raw["type"] = draw(st.sampled_from(EVENT_TYPES))
    return raw


def retyped(value: Any, kind: str) -> Any:
    if kind == "list":
        return [value]
    if kind == "object":
        return {"value": value}
    return value if isinstance(value, str) else type(value).__name__


def assert_safe(error: FieldError) -> None:
    assert error.rule in MESSAGES, error
    assert len(error.value) <= VALUE_WIDTH
    for text in (error.field, error.value, error.message_zh, error.message_en):
        text.encode("utf-8")
        assert "\u202e" not in text and "\x00" not in text


def assert_answered(raw: Any) -> None:
    """The property: a Report that travels, or a bounded list of named, safe errors."""
    try:
        report = validate_report(raw, today=TODAY)
    except ReportInvalid as invalid:
        assert 1 <= len(invalid.errors) <= MAX_ERRORS + 1
        for error in invalid.errors:
            assert_safe(error)
        if invalid.event_id is not None:
            invalid.event_id.encode("utf-8")
        return
    primitive = report.to_primitive()
    json.dumps(primitive, ensure_ascii=False).encode("utf-8")
    assert len(report.digest()) == 64
    assert Report.from_primitive(copy.deepcopy(primitive)) == report


@pytest.mark.parametrize("type", EVENT_TYPES)
@settings(FUZZING, max_examples=QUICK)
@given(data=st.data())
def test_a_mutated_report_is_accepted_or_refused_with_named_errors(type, data):
    assert_answered(data.draw(mutated(type)))


@pytest.mark.fuzz
@pytest.mark.parametrize("type", EVENT_TYPES)
@settings(FUZZING, max_examples=THOROUGH)
@given(data=st.data())
def test_many_mutated_reports_are_accepted_or_refused_with_named_errors(type, data):
    assert_answered(data.draw(mutated(type)))


@settings(FUZZING, max_examples=QUICK * 4)
@given(raw=hostile)
def test_anything_at_all_is_accepted_or_refused_with_named_errors(raw):
    assert_answered(raw)


def as_bytes(raw: Any) -> bytes:
    return json.dumps(raw, ensure_ascii=False).encode("utf-8", "surrogatepass")


@st.composite
def damaged_json(draw: st.DrawFn) -> bytes:
    """A report's JSON with bytes inserted, removed or overwritten, or bytes at random."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=200))
    body = bytearray(as_bytes(raw_report(draw(st.sampled_from(list(OWNER))))))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        where = draw(st.integers(min_value=0, max_value=len(body)))
        body[where : where + draw(st.integers(0, 3))] = draw(
            st.one_of(
                st.binary(max_size=4), st.sampled_from([b"[", b"{", b'"', b"\\ud800", b"1" * 30])
            )
        )
    return bytes(body)


@pytest.mark.fuzz
@settings(FUZZING, max_examples=THOROUGH)
@given(body=damaged_json())
def test_any_bytes_parse_to_a_value_or_a_named_refusal_and_on_to_an_answer(body):
    try:
        raw = parse_json(body, field="body")
    except JsonRefused as refused:
        assert_safe(refused.to_field_error())
        return
    assert_answered(raw)
