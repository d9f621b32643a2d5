"""Text in a report is what a reader will see: odd characters are refused, each with its own
rule naming the character and where it is; what passes is NFC-normalised before it is stored
and hashed; and no error ever repeats a character that cannot be encoded or that reorders text."""

from __future__ import annotations

import pytest

from services.kernel.contract.errors import FieldError, ReportInvalid
from services.kernel.contract.report import validate_report
from tests.contract_examples import TODAY, raw_report, rejection

ODD_TEXT = [
    ("长江\ud800存储", "lone_surrogate", "U+D800", 3),
    ("长江\x00存储", "control_character", "U+0000", 3),
    ("长江存储\x85", "control_character", "U+0085", 5),
    ("长江\x7f存储", "control_character", "U+007F", 3),
    ("第一行\n第二行", "control_character", "U+000A", 4),
    ("\u202e储存江长", "bidi_control", "U+202E", 1),
    ("长江\u2066存储\u2069", "bidi_control", "U+2066", 3),
    ("长江存储\ufdd0", "noncharacter", "U+FDD0", 5),
    ("长江存储\uffff", "noncharacter", "U+FFFF", 5),
    ("长江存储\U0010fffe", "noncharacter", "U+10FFFE", 5),
]


def assert_safe_to_answer(error: FieldError) -> None:
    """Encodable, and with nothing that reorders or hides what a reader sees."""
    for text in (error.field, error.value, error.message_zh, error.message_en):
        text.encode("utf-8")
        assert not any(c in text for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text)


@pytest.mark.parametrize(("name", "rule", "char", "position"), ODD_TEXT)
def test_an_odd_character_in_a_name_is_refused_with_its_own_rule(name, rule, char, position):
    (found,) = rejection(raw_report("project.proposed", name=name))
    assert (found.field, found.rule) == ("payload.name", rule)
    assert char in found.message_en and f"character {position}" in found.message_en
    assert_safe_to_answer(found)


def test_newline_and_tab_are_allowed_in_long_text_only():
    reason = "投资方撤资：\n\t一、资金未到位；\n\t二、用地未落实"
    report = validate_report(raw_report("project.withdrawn", reason=reason), today=TODAY)
    assert report.payload["reason"] == reason
    (found,) = rejection(raw_report("project.withdrawn", reason="撤资\r\n"))
    assert (found.field, found.rule) == ("payload.reason", "control_character")


@pytest.mark.parametrize("name", ["\u200b", "\u200b \u200d", "\ufeff\u2060", "\u3164"])
def test_a_name_of_nothing_but_invisible_characters_is_refused(name):
    (found,) = rejection(raw_report("project.assigned", leader=name))
    assert (found.field, found.rule) == ("payload.leader", "zero_width_only")


def test_a_name_of_spaces_is_still_blank():
    (found,) = rejection(raw_report("project.assigned", leader=" \u3000 "))
    assert found.rule == "blank"


def test_text_is_stored_and_hashed_in_nfc():
    composed = validate_report(raw_report("project.assigned", leader="José"), today=TODAY)
    raw = raw_report("project.assigned", leader="Jose\u0301")
    decomposed = validate_report(
        {**raw, "event_id": composed.to_primitive()["event_id"]}, today=TODAY
    )
    assert decomposed.payload["leader"] == "José"
    assert decomposed.digest() == composed.digest()


def test_a_text_limit_counts_the_normalised_characters():
    report = validate_report(raw_report("project.assigned", leader="e\u0301" * 200), today=TODAY)
    assert len(report.payload["leader"]) == 200


def test_a_policy_is_copied_with_its_text_normalised():
    policy = {"name_zh": "Jose\u0301", "tiers": [{"name_zh": "一档"}]}
    report = validate_report(raw_report("policy.adopted", policy=policy), today=TODAY)
    assert report.payload["policy"] == {"name_zh": "José", "tiers": [{"name_zh": "一档"}]}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"policy": {"weights": {"capital\udfff": 25}}}, "payload.policy.weights.capital\\udfff"),
        ({"policy": {"notes": ["ok", "\ud83d"]}}, "payload.policy.notes.1"),
    ],
)
def test_a_lone_surrogate_anywhere_in_a_policy_is_refused_so_no_digest_can_fail(payload, field):
    (found,) = rejection(raw_report("policy.adopted", **payload))
    assert (found.field, found.rule) == (field, "lone_surrogate")
    assert_safe_to_answer(found)


def test_an_unknown_field_of_odd_characters_is_answered_in_safe_text():
    raw = raw_report("project.signed", **{"\u202enote\x00": "\ud800", "memo\u2067": "x"})
    errors = rejection(raw)
    assert {e.rule for e in errors} == {"lone_surrogate"}
    raw = raw_report("project.signed", **{"\u202enote\x00": "x"})
    (found,) = rejection(raw)
    assert (found.field, found.rule) == ("payload.\\u202enote\\u0000", "unknown_field")
    assert_safe_to_answer(found)


def test_an_event_id_that_cannot_be_encoded_is_answered_escaped():
    with pytest.raises(ReportInvalid) as caught:
        validate_report({**raw_report("project.signed"), "event_id": "id-\ud800"}, today=TODAY)
    assert caught.value.event_id == "id-\\ud800"
