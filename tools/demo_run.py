"""Load the demo quarter through the public Ingest API and print its ranking (for `make run`):
one 市州's quarter goes in as a 台账 workbook, imported as its clerk would (tools/demo_ledger.py).
"""

from __future__ import annotations

import time
import unicodedata
from collections import Counter
from decimal import Decimal

from services.kernel.store.environment import var_dir
from tools import demo_office
from tools.demo import by_sender, demo_rejects, generate_demo
from tools.demo.ledger import ledger
from tools.demo_ledger import import_ledger
from zhaoshang.client import GatewayClient

BATCH = 500
INDICATORS = (
    ("registrations", "注册"),
    ("construction_starts", "开工"),
    ("production_starts", "投产"),
    ("capital_arrived", "到资(亿)"),
    ("key_project_landings", "重大落地"),
    ("leader_trips", "外出招商"),
)


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def cell(text: str, size: int, right: bool = False) -> str:
    pad = " " * max(0, size - width(text))
    return pad + text if right else text + pad


def ranking_table(ranking: dict) -> str:
    header = [cell("名次", 4), cell("市州", 18)]
    header += [cell(name, 10, right=True) for _, name in INDICATORS]
    header += [cell("加减分", 8, right=True), cell("总分", 8, right=True)]
    lines = [" ".join(header)]
    for row in ranking["rows"]:
        points = [row["indicators"][key]["points"] for key, _ in INDICATORS]
        line = [cell(str(row["rank"]), 4), cell(row["name"], 18)]
        line += [cell(p, 10, right=True) for p in points]
        adjustment = Decimal(row["bonuses"]) - Decimal(row["deductions"])
        line += [cell(f"{adjustment:+}", 8, right=True), cell(row["total"], 8, right=True)]
        lines.append(" ".join(line))
    if ranking.get("summons"):
        names = {row["region"]: row["name"] for row in ranking["rows"]}
        lines.append("约谈名单 (summons): " + "、".join(names[c] for c in ranking["summons"]))
    return "\n".join(lines)


def load_demo(client: GatewayClient, quarter: str, api_keys: dict[str, str]) -> dict:
    """Each system publishes its reports under its own key (`api_keys`: source -> key) over
    `client`, which calls as the office (TLS, as make run serves) and publishes the ranking."""
    quarter_reports = generate_demo(quarter)
    kept = ledger(quarter_reports, quarter)  # one 市州 keeps its quarter in a 台账
    reports = kept.others(quarter_reports)
    with client:
        demo_office.set_targets(client, quarter, api_keys)
        import_ledger(client, kept, var_dir() / "demo", api_keys[kept.source])
        outcomes: list[dict] = []
        for source, run in by_sender(reports):
            for start in range(0, len(run), BATCH):
                outcomes += client.publish(run[start : start + BATCH], api_key=api_keys[source])
        rejects = demo_rejects()
        rejected = client.publish(rejects, api_key=api_keys[rejects[0]["source"]])
        counts = Counter(o["status"] for o in outcomes)
        print(
            "\n"
            f"演示数据 / demo {quarter}: {len(reports)} reports from the other systems — "
            + ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
        )
        for outcome in rejected:
            error = outcome["errors"][0] if outcome["errors"] else {}
            print(f"  拒收示例 / rejected on purpose: {error.get('message_zh', outcome['status'])}")
        for outcome in outcomes:
            if outcome["status"] != "accepted":
                print(f"  {outcome['status']}: {outcome['errors']}")
        demo_office.work_queue(client, quarter, api_keys)
        ranking = client.publish_ranking(quarter)
        print(
            f"\n{quarter} 各市州招商引资工作评分排名（政策 {ranking['policy_version']}，"
            f"哈希 {ranking['hash'][:16]}…）"
        )
        print(ranking_table(ranking))
        demo_office.show_targets(client, quarter)
        print_circulars(quarter, ranking["hash"])
        demo_office.follow_up(client, ranking, api_keys)
        demo_office.year_end(client, quarter[:4], api_keys)
    return ranking


def print_circulars(quarter: str, ranking_hash: str, wait: float = 15.0) -> None:
    """notify writes the circular when it hears of the publication; say where once it has."""
    pattern = f"{quarter}-{ranking_hash[:12]}.*"
    deadline = time.monotonic() + wait
    while not (files := sorted((var_dir() / "circulars").glob(pattern))):
        if time.monotonic() > deadline:
            print(f"通报尚未生成 / the circular is not written yet: see {var_dir()}/circulars/")
            return
        time.sleep(0.3)
    print("通报 / circular: " + ", ".join(str(f) for f in files))
