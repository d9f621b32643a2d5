"""`make run`'s 宜昌市 台账 (tools/demo/ledger.py), imported against the running system as the demo
imports it (tools/demo_ledger.py): the workbook is written under var/demo/, every row is
accepted, and the same workbook again is answered duplicate row for row."""

from __future__ import annotations

import contextlib
import io
from collections import Counter

import pytest

from tests.e2e.lifecycle import running_system
from tools.demo import generate_demo
from tools.demo.ledger import ledger
from tools.demo_ledger import import_ledger

pytestmark = [pytest.mark.rabbit, pytest.mark.timeout(300)]
QUARTER = "2020Q3"


def test_the_demos_workbook_is_accepted_row_for_row_then_duplicate(tmp_path):
    kept = ledger(generate_demo(QUARTER), QUARTER)
    with running_system(tmp_path) as system, system.client() as client:
        key = system.api_keys[kept.source]
        first = import_ledger(client, kept, tmp_path / "demo", key)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            again = import_ledger(client, kept, tmp_path / "demo", key)
    assert (tmp_path / "demo" / "宜昌市-2020Q3-台账.xlsx").read_bytes() == kept.workbook
    assert Counter(row.status for row in first.rows) == {"accepted": len(kept.renamed)}
    assert Counter(row.status for row in again.rows) == {"duplicate": len(kept.renamed)}
    assert f"accepted 0, duplicate {len(kept.renamed)}, rejected 0" in printed.getvalue()
