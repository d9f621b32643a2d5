"""The reference files the plan's words need (places.yaml for 赴省外, industries-gbt4754.yaml,
organisations.yaml, tasks.yaml's `known_from`): a broken one stops the start naming the file,
the row and the problem."""

from __future__ import annotations

import pytest

from services.kernel.reference import ReferenceDataError, load_reference
from tests.unit.test_reference import corrupt, data_dir  # noqa: F401 (a fixture)

BROKEN = {
    "a region without pinyin": (
        "places.yaml", '  "420102": jiang an\n', "", "missing ['420102']",
    ),
    "pinyin that is not syllables": (
        "places.yaml", '"420100": wu han', '"420100": Wuhan', "'Wuhan' is not pinyin syllables",
    ),
    "another province without its code": (
        "places.yaml", "code: CN-43", "code: HN-43", "'HN-43' is not an ISO 3166-2:CN code",
    ),
    "a division out of order": (
        "industries-gbt4754.yaml", '{code: "14", name: 食品制造业}',
        '{code: "15", name: 食品制造业}', "division code '15': expected 14",
    ),
    "a section that is no letter": (
        "industries-gbt4754.yaml", "- code: K\n", "- code: KK\n", "section code 'KK'",
    ),
    "an organisation 附件4 does not name": (
        "organisations.yaml", "name: 湖北机场集团", "name: 湖北港口集团",
        "'湖北港口集团' is responsible for no item",
    ),
    "an unknown way to know a task": (
        "tasks.yaml", "known_from: leader_trips", "known_from: leader_moods",
        "known_from 'leader_moods'",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("file", "old", "new", "problem"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_file_is_refused_naming_the_file_and_problem(data_dir, file, old, new, problem):  # noqa: F811
    corrupt(data_dir / file, old, new)
    with pytest.raises(ReferenceDataError) as refused:
        load_reference(data_dir)
    assert refused.value.file == file
    assert problem in str(refused.value)
