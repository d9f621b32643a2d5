"""`zhaoshang`: the auditor's command line, talking to the gateway over gRPC; and the 台账
spreadsheets (`zhaoshang sheets template|import|export`, zhaoshang/sheets_cli.py).

    zhaoshang audit history PROJECT                  a project's every stored event, in order
    zhaoshang audit verify                           hash chains and checkpoints of every store
    zhaoshang audit verify --against CIRCULAR.docx   today's logs against the signed heads it prints
    zhaoshang audit heads | prove EVENT_ID           save signed heads; an offline inclusion proof
    zhaoshang audit rebuild --quarter 2020Q3         rebuild the published ranking, compare hashes
    zhaoshang audit rebuild --quarter 2020Q3 --as-of 2020-10-15
                                                     the ranking from what was recorded by then
    zhaoshang users add|disable|enable|reset|grant|totp|list   the web console's accounts
                                                     (services/console/users.py)

The gateway is `GATEWAY_ADDRESS` (default 127.0.0.1:50051), the key `ZHAOSHANG_API_KEY`, over
TLS trusting `--ca-file` (default var/dev-ca.pem when it exists; zhaoshang/connection.py). A
rebuild is done twice: by scoring on the server, and here, from the raw upstream logs read page
by page (with a progress bar), so the auditor does not have to trust the server's arithmetic.
Exit status: 0 all well, 1 a finding or a mismatch, 2 the gateway refused or could not be reached.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, TextIO, cast

import grpc
from tqdm import tqdm

from services.kernel.contract.calendar import SHANGHAI
from services.kernel.contract.ranking import Ranking, Rebuild
from services.kernel.reference import Reference, reference
from services.scoring.policy import Policy
from services.scoring.rebuild import UPSTREAMS, Replay, Units, end_of_day, rank, with_positions
from zhaoshang import auditing, connection, sheets_cli
from zhaoshang.client import GatewayClient

PAGE = 5000
OFFICE = "省招商引资工作领导小组办公室"
QUARTERS_ZH = {"1": "第一季度", "2": "第二季度", "3": "第三季度", "4": "第四季度"}
TYPES_ZH = {
    "project.proposed": "项目推介",
    "project.tracking_started": "转入跟踪",
    "project.signed": "签约",
    "project.assigned": "落实“五个一”",
    "project.corrected": "更正",
    "project.withdrawn": "撤销",
    "project.designated": "列为本地重点项目",
    "project.undesignated": "移出本地重点项目",
    "project.list_changed": "清单变动",
    "project.company_registered": "注册",
    "project.construction_started": "开工（开业）",
    "project.production_started": "投产",
    "project.capital_arrived": "到资",
    "milestone.retracted": "撤回（虚报）",
    "milestone.verified": "甄别通过",
    "milestone.rejected": "甄别不通过",
    "leader.appointed": "领导任职",
    "leader.trip_completed": "外出招商",
    "promotion.event_held": "主题招商活动",
    "task.completed": "附件3任务完成",
    "matter.progress_reported": "附件4事项进展",
    "policy.adopted": "采用评分政策",
    "ranking.published": "发布排名",
}
KINDS_ZH = {
    "altered": "内容被改动",
    "deleted": "事件被删除",
    "reordered": "顺序被调换",
    "unchained": "未入哈希链",
    "checkpoint": "检查点不符",
}
AGGREGATES_ZH = {
    "Project": "项目",
    "Leader": "领导",
    "Receipt": "报告回执",
    "ProjectMilestones": "项目里程碑",
    "LeaderTrips": "领导出访",
    "UnitRecord": "单位记录",
    "Ledger": "评分台账",
    "PolicyBook": "评分政策",
    "PublishedRanking": "已发布排名",
    "Checkpoint": "检查点",
}


# Words an auditor reads ---------------------------------------------------------------------


def quarter_zh(quarter: str) -> str:
    return f"{quarter[:4]}年{QUARTERS_ZH[quarter[-1]]}"


def source_zh(source: str, ref: Reference) -> str:
    """ "pref:420100" -> "武汉市（pref:420100）"."""
    kind, _, key = source.partition(":")
    name = None
    if source == "office":
        name = OFFICE
    elif kind in ("pref", "county") and ref.is_hubei_region(key):
        name = ref.region(key).name
    elif kind == "dept" and key in ref.departments:
        name = ref.departments[key].name
    return f"{name}（{source}）" if name else source


def moment_zh(iso: str | None) -> str:
    if not iso:
        return "—"
    moment = datetime.fromisoformat(iso).astimezone(SHANGHAI)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）"


def width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if ord(c) > 0x2E7F else 1 for c in text)


def pad(text: str, columns: int) -> str:
    return text + " " * max(columns - width(text), 0)


def table(rows: list[list[str]], out: TextIO) -> None:
    columns = [max(width(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(pad(cell, columns[i]) for i, cell in enumerate(row)).rstrip(), file=out)


# audit history ------------------------------------------------------------------------------


def history(client: GatewayClient, args: argparse.Namespace, out: TextIO) -> int:
    entries = client.history(args.project)
    if args.json:
        print(json.dumps(entries, ensure_ascii=False, indent=2), file=out)
        return 0
    ref = reference()
    if not entries:
        print(f"没有项目 {args.project} 的任何记录。", file=out)
        return 0
    print(f"项目 {args.project} 的完整记录：共 {len(entries)} 条，按记录时间排列", file=out)
    for number, entry in enumerate(entries, 1):
        kind = entry["type"]
        print(f"\n{number}. {moment_zh(entry['recorded_at'])}  {entry['service']}", file=out)
        print(
            f"   {TYPES_ZH.get(kind, kind)}（{kind}）· 发生日期 {entry['occurred_on']} · "
            f"报送单位 {source_zh(entry['source'], ref)}"
            + (f" · 经办人 {entry['operator']}" if entry.get("operator") else ""),
            file=out,
        )
        print(f"   event_id {entry['event_id']}", file=out)
        print(f"   内容 {json.dumps(entry['payload'], ensure_ascii=False)}", file=out)
    return 0


# audit verify -------------------------------------------------------------------------------


def verify(client: GatewayClient, args: argparse.Namespace, out: TextIO) -> int:
    if args.against:  # against published signed heads (zhaoshang/auditing.py)
        return auditing.verify_against(client, args, out)
    result = client.verify()
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2), file=out)
        return 0 if result["ok"] else 1
    print("存储完整性核验：每个事件的哈希链与覆盖全部通知日志的检查点\n", file=out)
    rows = [["服务", "事件数", "聚合数", "检查点", "检查点覆盖至", "末条通知", "结果"]]
    for store in result["stores"]:
        verdict = "通过" if store["ok"] else f"发现 {len(store['findings'])} 处问题"
        rows.append(
            [
                store["service"],
                str(store["events"]),
                str(store["aggregates"]),
                str(store["checkpoints"]),
                str(store["covered_to"]),
                str(store["last"]),
                verdict,
            ]
        )
    table(rows, out)
    findings = [(s["service"], f) for s in result["stores"] for f in s["findings"]]
    if findings:
        print("\n问题明细：", file=out)
    for service, finding in findings:
        kind = finding["aggregate_type"]
        where = f"（第 {finding['notification_id']} 号通知）" if finding["notification_id"] else ""
        print(
            f"- [{service}] {KINDS_ZH.get(finding['kind'], finding['kind'])}"
            f"（{finding['kind']}）：{AGGREGATES_ZH.get(kind, kind)}（{kind}）"
            f" {finding['aggregate_id']} 第 {finding['version']} 版{where}\n"
            f"  {finding['detail_zh']} / {finding['detail_en']}",
            file=out,
        )
    covered = all(s["covered_to"] >= s["last"] - 1 for s in result["stores"])
    if result["ok"]:
        print("\n结论：未发现改动、删除或重排。", file=out)
        if not covered:
            print("（最新的事件尚待下一个检查点覆盖，稍后可再核验一次。）", file=out)
    else:
        print(f"\n结论：发现 {len(findings)} 处问题，存储内容与写入时不一致。", file=out)
    return 0 if result["ok"] else 1


# audit rebuild ------------------------------------------------------------------------------


def rebuild(client: GatewayClient, args: argparse.Namespace, out: TextIO) -> int:
    quarter, as_of = args.quarter, args.as_of or ""
    server = cast(Rebuild, client.rebuild_ranking(quarter, as_of))  # scoring's, as JSON
    local = None if args.server_only else local_rebuild(client, server, args.progress)
    if args.json:
        print(json.dumps({"server": server, "local": local}, ensure_ascii=False), file=out)
    else:
        report_rebuild(server, local, out)
    agree = local is None or local["hash"] == server["rebuilt"]["hash"]
    return 0 if agree and server["matches_published"] is not False else 1


def local_rebuild(client: GatewayClient, server: Rebuild, progress: bool) -> Ranking:
    """The same ranking, rebuilt here from the raw upstream logs under the server's policy."""
    quarter, as_of = server["quarter"], server["as_of"]
    if as_of is None:  # the published ranking: the logs up to the positions it was made from
        positions = server["rebuilt"]["as_of"]
        stops: Mapping[str, int | None] = positions
        total = sum(positions.values())
    else:
        stops = dict.fromkeys(UPSTREAMS)
        total = sum(client.get_ranking(quarter, "provisional")["as_of"].values())
    moment = None if as_of is None else datetime.fromisoformat(as_of)
    replay = Replay(moment)
    with tqdm(
        total=total, unit="条", desc="重放上游事件", disable=not progress, file=sys.stderr
    ) as bar:
        for upstream in UPSTREAMS:
            replay.feed(pages(client, upstream, stops[upstream], bar.update))
    policy = Policy.from_mapping(server["policy"])
    content = rank(replay.facts, policy, quarter, Units.from_reference(reference()), as_of=moment)
    return with_positions(content, replay.positions)


def pages(
    client: GatewayClient, service: str, stop: int | None, advance: Callable[[int], Any]
) -> Iterator[dict]:
    start = 1
    while stop is None or start <= stop:
        page = client.read_log(service, start, PAGE)
        if page is None:
            return
        if stop is not None and page["last"] > stop:
            page["events"] = [e for e in page["events"] if e["notification_id"] <= stop]
            page["last"] = stop
        advance(page["last"] - start + 1)
        yield page
        start = page["last"] + 1


def report_rebuild(server: Rebuild, local: Ranking | None, out: TextIO) -> None:
    rebuilt, today = server["rebuilt"], server["today"]
    quarter = server["quarter"]
    print(f"{quarter_zh(quarter)}（{quarter}）招商引资评分排名重建", file=out)
    positions = "，".join(f"{u} 1–{rebuilt['as_of'][u]}" for u in UPSTREAMS)
    if server["as_of"] is None:
        print(f"重建依据：已发布排名所依据的上游事件（{positions}）", file=out)
    else:
        print(
            f"重建依据：截至 {moment_zh(server['as_of'])} 记录的上游事件（{positions}）", file=out
        )
    read = "，".join(f"{u} {n} 条" for u, n in server["events_read"].items())
    print(f"评分政策：{rebuilt['policy_version']}；读取事件：{read}", file=out)
    counted = moment_zh(rebuilt["recorded_by"])
    print(f"报送截止：{rebuilt['cut_off']}；计入截至 {counted} 记录的事件\n", file=out)
    today_rows = {row["region"]: row for row in today["rows"]}
    label = "已发布" if today["published"] else "今日"
    rows = [["名次", "市州", "总分", f"{label}名次", f"{label}总分", "档次", "变化"]]
    for row in rebuilt["rows"]:
        now: Mapping[str, Any] = today_rows.get(row["region"], {})
        changed = now.get("rank") != row["rank"] or now.get("total") != row["total"]
        rows.append(
            [
                str(row["rank"]),
                row["name"],
                row["total"],
                str(now.get("rank", "—")),
                now.get("total", "—"),
                row["tier"] or "",
                "有变化" if changed else "",
            ]
        )
    table(rows, out)
    names = {row["region"]: row["name"] for row in rebuilt["rows"]}
    summons = "、".join(names.get(r, r) for r in rebuilt["summons"]) or "无"
    print(f"\n约谈名单：{summons}", file=out)
    for tier, regions in rebuilt["tiers"].items():
        print(f"{tier}：{'、'.join(names.get(r, r) for r in regions) or '无'}", file=out)
    late = rebuilt["late"]
    print(f"截止后记录、未计入的报告：{len(late)} 条", file=out)
    for entry in late[:20]:
        kind, region = entry["type"], names.get(entry["region"] or "", "")
        print(
            f"  - {TYPES_ZH.get(kind, kind)} {entry['event_id']}（{region}，"
            f"记录于 {moment_zh(entry['recorded_at'])}）",
            file=out,
        )
    differences = server["differences"]
    if differences["rows"] or differences["summoned"] or differences["no_longer_summoned"]:
        print(f"\n与{label}排名的差异：", file=out)
        for change in differences["rows"]:
            ranks, totals = change["rank"], change["total"]
            print(
                f"  - {change['name']}：名次 {ranks['then']} → {ranks['now']}，"
                f"总分 {totals['then']} → {totals['now']}",
                file=out,
            )
    else:
        print(f"\n与{label}排名相同。", file=out)
    print(f"\n重建排名哈希（SHA256）：{rebuilt['hash']}", file=out)
    if local is not None:
        same = local["hash"] == rebuilt["hash"]
        print(
            f"本地重建哈希：        {local['hash']}  "
            + ("与服务端重建一致 ✓" if same else "与服务端重建不一致 ✗"),
            file=out,
        )
    if server["matches_published"] is not None:
        verdict = "一致 ✓" if server["matches_published"] else "不一致 ✗"
        print(f"已发布排名哈希：      {today['hash']}  {verdict}", file=out)


# The command line ---------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="zhaoshang", description=__doc__.split("\n\n")[0])
    connection.add_arguments(root)
    root.add_argument("--timeout", type=float, default=300.0, help="seconds per call")
    root.add_argument("--json", action="store_true", help="machine-readable output")
    groups = root.add_subparsers(dest="group", required=True)
    audit = groups.add_parser("audit", help="for auditors").add_subparsers(
        dest="command", required=True
    )
    history_ = audit.add_parser("history", help="a project's every stored event, in order")
    history_.add_argument("project", help="the project code")
    history_.set_defaults(run=history)
    verify_ = audit.add_parser("verify", help="hash chains and checkpoints of every store")
    verify_.set_defaults(run=verify)
    auditing.add_against(verify_)
    auditing.add_commands(audit)
    rebuild_ = audit.add_parser("rebuild", help="rebuild a quarter's ranking from raw events")
    rebuild_.add_argument("--quarter", required=True, help="e.g. 2020Q3")
    rebuild_.add_argument(
        "--as-of",
        help="only what was recorded by then: a date (to the end of that day, Beijing time) "
        "or an ISO moment with offset; without it, the published ranking is rebuilt",
    )
    rebuild_.add_argument(
        "--server-only", action="store_true", help="skip the local replay of the upstream logs"
    )
    rebuild_.add_argument("--no-progress", dest="progress", action="store_false")
    rebuild_.set_defaults(run=rebuild)
    sheets_cli.add_commands(groups)
    return root


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["users"]:  # the console's accounts, on its own store (no gateway call)
        from services.console.users import main as users

        return users(argv[1:], out)
    args = parser().parse_args(argv)
    if getattr(args, "as_of", None):
        try:
            end_of_day(args.as_of)
        except ValueError as error:
            print(f"--as-of {args.as_of}: {error}", file=sys.stderr)
            return 2
    try:
        client = connection.connect(args, args.timeout)
    except (OSError, ValueError) as error:  # a certificate file missing, or no key for it
        print(f"TLS 设置有误 / TLS settings: {error}", file=sys.stderr)
        return 2
    try:
        with client:
            return args.run(client, args, out)
    except auditing.CannotCheck as error:
        print(f"无法核验 / could not check: {error}", file=sys.stderr)
        return 2
    except grpc.RpcError as error:
        print(f"网关 {args.gateway} 拒绝或无法应答：{error.details()}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
