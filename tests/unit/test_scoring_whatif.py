"""试算: the changes the office tries make a policy of their own, validated as any policy is."""

from __future__ import annotations

import pytest

from services.scoring.application import read_policy_file
from services.scoring.domain import PolicyError, ScoringError
from services.scoring.policy import Policy
from services.scoring.whatif import changed_policy


def test_changed_weights_make_a_valid_policy_and_leave_the_base_alone():
    base = read_policy_file()
    keys = [i["key"] for i in base["indicators"]]
    weights = {i["key"]: i["weight"] for i in base["indicators"]}
    first, second = keys[0], keys[1]
    moved = {first: weights[first] + 5, second: weights[second] - 5}
    tried = Policy.from_mapping(changed_policy(base, {"weights": moved}))
    assert tried.indicator(first).weight == weights[first] + 5
    assert tried.version.endswith("+试算")
    assert {i["key"]: i["weight"] for i in base["indicators"]} == weights  # untouched


def test_weights_that_do_not_sum_to_100_or_unknown_indicators_are_named():
    base = read_policy_file()
    first = base["indicators"][0]["key"]
    with pytest.raises(PolicyError):
        Policy.from_mapping(changed_policy(base, {"weights": {first: 99}}))
    with pytest.raises(ScoringError) as unknown:
        changed_policy(base, {"weights": {"nonsense": 10}})
    assert unknown.value.rule == "known_indicator" and unknown.value.field == "weights.nonsense"
