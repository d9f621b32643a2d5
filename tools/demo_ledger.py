"""The demo's 市州 clerk importing the quarter's 台账 (tools/demo/ledger.py) as `zhaoshang sheets
import` does, under the 市州's own key: the workbook written to var/demo/ and read back
(zhaoshang/sheets), previewed by the gateway (Ingest.Validate) and sent (Publish) only while no
row has a problem. A whole quarter goes in steps, each sent before the next is previewed
(zhaoshang/sheets/importing.py `steps`)."""

from __future__ import annotations

from collections import Counter
from functools import partial
from pathlib import Path

from tools.demo.ledger import Ledger
from zhaoshang.client import GatewayClient
from zhaoshang.sheets.errorcopy import error_copy
from zhaoshang.sheets.importing import Reading, judged_by, read, steps

SHOWN = ("accepted", "duplicate", "rejected")


def import_ledger(client: GatewayClient, ledger: Ledger, directory: Path, api_key: str) -> Reading:
    """Writes the workbook under `directory`, imports it and says how its rows were answered."""
    path = directory / ledger.name
    directory.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ledger.workbook)
    data = path.read_bytes()
    reading = read(data, ledger.source)
    for step in [] if reading.notes else steps(reading):  # a sheet not read: nothing sent
        judged_by(step, partial(client.validate, api_key=api_key))
        if step.failed:
            break
        judged_by(step, partial(client.publish, api_key=api_key))
    counts = Counter(row.status for row in reading.rows)
    said = [f"{status} {counts.pop(status, 0)}" for status in SHOWN]
    said += [f"{status} {n}" for status, n in sorted(counts.items())]
    print(f"\n台账导入 / workbook import ({ledger.source}): {path}")
    print(f"  {len(reading.rows)} 行 / rows — " + ", ".join(said))
    if reading.failed:
        errors = path.with_name(f"{path.stem}.错误.xlsx")
        errors.write_bytes(error_copy(data, reading))
        print(f"  有错误，其后各步未报送 / not all sent; 错误说明: {errors}")
        for problem in reading.problems[:10]:
            print(f"  - {problem}")
    return reading
