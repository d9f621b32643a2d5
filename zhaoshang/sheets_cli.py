"""`zhaoshang sheets …`: the 台账 template, importing a filled workbook, the office's tables.

    zhaoshang sheets template -o 模板.xlsx
    zhaoshang sheets import 台账.xlsx --source pref:420100 --dry-run    preview only
    zhaoshang sheets import 台账.xlsx --source pref:420100              preview, then send
    zhaoshang sheets export ranking --quarter 2020Q3 -o 排名.xlsx

An import is judged by the gateway (Ingest.Validate), never by rules copied here: the preview
lists every row that would be rejected or conflicts, with its sheet, row, column, value and
rule, and writes a copy of the workbook with an 错误说明 column. Nothing is sent while any row
has a problem, nor with --dry-run. Exit status: 0 all well, 1 a row has a problem, 2 the file or
the gateway could not be read.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from zhaoshang.client import GatewayClient
from zhaoshang.sheets import exporting, gathering
from zhaoshang.sheets.errorcopy import STATUS_ZH, error_copy
from zhaoshang.sheets.importing import Reading, judged_by, read
from zhaoshang.sheets.reading import Unreadable
from zhaoshang.sheets.template import template

PREVIEW_ZH = {**STATUS_ZH, "accepted": "可接收", "rejected": "将被拒绝", "conflict": "冲突"}


def add_commands(groups: Any) -> None:
    """The `sheets` group of the zhaoshang command line (zhaoshang/cli.py)."""
    sheets = groups.add_parser("sheets", help="Excel 台账: template, import, export")
    commands = sheets.add_subparsers(dest="command", required=True)
    template_ = commands.add_parser("template", help="write the 台账 template")
    template_.add_argument("-o", "--output", required=True, help="the .xlsx to write")
    template_.set_defaults(run=write_template)
    import_ = commands.add_parser("import", help="import a filled 台账 (.xlsx, .xls, .ods)")
    import_.add_argument("file")
    import_.add_argument(
        "--source",
        required=True,
        help="the unit the rows are reported for: the credential's own, e.g. pref:420100",
    )
    import_.add_argument("--dry-run", action="store_true", help="preview only; send nothing")
    import_.add_argument(
        "--errors", help="where the copy with an 错误说明 column goes (default FILE.错误.xlsx)"
    )
    import_.set_defaults(run=import_workbook)
    export = commands.add_parser("export", help="one of the office's fixed tables")
    export.add_argument("table", choices=sorted(gathering.TABLES))
    export.add_argument("--quarter", help="e.g. 2020Q3 (ranking, key-project lists)")
    export.add_argument("--view", choices=("official", "provisional"), default="official")
    export.add_argument("--region", default="", help="a region code (project register)")
    export.add_argument(
        "--list", dest="list_name", default="", help="promotion|tracking|signed|started"
    )
    export.add_argument("--department", default="", help="a department key (project register)")
    export.add_argument("--year", type=int, default=0, help="the quota year (trips)")
    export.add_argument("--as-of", dest="as_of_date", default="", help="ISO date (附件3/附件4)")
    export.add_argument("--by", default=getpass.getuser(), help="who exports (header/footer)")
    export.add_argument("-o", "--output", required=True, help="the .xlsx to write")
    export.set_defaults(run=export_table)


def write_template(client: GatewayClient, args: argparse.Namespace, out: TextIO) -> int:
    Path(args.output).write_bytes(template())
    print(f"已生成模板：{args.output}", file=out)
    return 0


def import_workbook(client: GatewayClient, args: argparse.Namespace, out: TextIO) -> int:
    path = Path(args.file)
    try:
        data = path.read_bytes()
        reading = read(data, args.source)
    except (OSError, Unreadable) as error:
        print(f"{path}: {error}", file=sys.stderr)
        return 2
    judged_by(reading, client.validate)
    report(reading, "预览（由网关按报送规则判定，尚未报送）", out, PREVIEW_ZH)
    if reading.failed:
        errors = Path(args.errors or path.with_name(f"{path.stem}.错误.xlsx"))
        errors.write_bytes(error_copy(data, reading))
        print(f"\n有错误，未报送任何一行。带“错误说明”列的副本：{errors}", file=out)
        return 1
    if args.dry_run:
        print("\n--dry-run：未报送。去掉 --dry-run 即正式报送。", file=out)
        return 0
    judged_by(reading, client.publish)
    report(reading, "报送结果", out, STATUS_ZH)
    return 1 if reading.failed else 0


def report(reading: Reading, title: str, out: TextIO, words: Mapping[str, str]) -> None:
    counts = Counter(row.status for row in reading.rows)
    print(f"{title}：共 {len(reading.rows)} 行", file=out)
    by_sheet = Counter(row.sheet for row in reading.rows)
    for sheet, n in by_sheet.items():
        statuses = Counter(row.status for row in reading.rows if row.sheet == sheet)
        said = "，".join(f"{words.get(s, s)} {c}" for s, c in statuses.items())
        print(f"  「{sheet}」{n} 行：{said}", file=out)
    summary = "，".join(f"{words.get(s, s)} {c} 行" for s, c in counts.items()) or "无数据行"
    print(f"合计：{summary}", file=out)
    for problem in reading.problems:
        print(f"  - {problem}", file=out)


def export_table(client: GatewayClient, args: argparse.Namespace, out: TextIO) -> int:
    try:
        data = gathering.export(client, args.table, vars(args), args.by)
    except exporting.NothingToExport as nothing:
        print(str(nothing), file=sys.stderr)
        return 1
    Path(args.output).write_bytes(data)
    print(f"已导出：{args.output}", file=out)
    return 0
