"""What each of the office's tables needs, asked of the gateway through `GatewayClient` (a
市州's credential sees its own: the gateway checks every answer against the caller's scope),
then made into tables (exporting.py) and a workbook.

招商引资工作目标进度汇总表 reads the targets the ranking scored against (`target.set`, or the
policy's), so a quarter without any has no such table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from zhaoshang.client import GatewayClient
from zhaoshang.sheets.exporting import (
    MILESTONE_LISTS,
    NothingToExport,
    Table,
    milestone_list,
    projects_table,
    ranking_tables,
    status_table,
    targets_table,
    trips_table,
    workbook,
)

POLICY_FILE = (
    Path(__file__).resolve().parents[2] / "services/kernel/reference/data/policy-2020.yaml"
)

Options = Mapping[str, Any]


def indicator_names() -> dict[str, str]:
    policy = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    return {i["key"]: i.get("name_zh", i["key"]) for i in policy.get("indicators", ())}


def _quarter(options: Options) -> str:
    if not options.get("quarter"):
        raise NothingToExport("该表须指定季度：--quarter 2020Q3")
    return str(options["quarter"])


def ranking(client: GatewayClient, options: Options) -> list[Table]:
    answer = client.get_ranking(_quarter(options), options.get("view") or "official")
    return ranking_tables(answer, indicator_names())


def targets(client: GatewayClient, options: Options) -> list[Table]:
    answer = client.get_ranking(_quarter(options), options.get("view") or "official")
    return [targets_table(answer, indicator_names())]


def key_projects(table: str) -> Callable[[GatewayClient, Options], list[Table]]:
    def gather(client: GatewayClient, options: Options) -> list[Table]:
        quarter = _quarter(options)
        # the scope's key projects: the province's (二), or those a 市州 designated its own
        projects = client.list_projects("", options.get("region") or "")["projects"]
        milestones = {p["project_code"]: client.milestones(p["project_code"]) for p in projects}
        return [milestone_list(table, quarter, projects, milestones)]

    return gather


def projects(client: GatewayClient, options: Options) -> list[Table]:
    listing = client.list_projects(
        options.get("list_name") or "",
        options.get("region") or "",
        options.get("department") or "",
        register=True,  # the whole register, key project or not
    )
    return [projects_table(listing)]


def trips(client: GatewayClient, options: Options) -> list[Table]:
    unit = options.get("region") or ""
    return trips_table(client.leader_progress(unit, int(options.get("year") or 0)))


def tasks(client: GatewayClient, options: Options) -> list[Table]:
    answer = client.task_status(options.get("region") or "", "", options.get("as_of_date") or "")
    return [status_table(answer, "tasks")]


def matters(client: GatewayClient, options: Options) -> list[Table]:
    answer = client.matter_status(options.get("region") or "", "", options.get("as_of_date") or "")
    return [status_table(answer, "matters")]


TABLES: dict[str, Callable[[GatewayClient, Options], list[Table]]] = {
    "ranking": ranking,
    "targets": targets,
    **{name: key_projects(name) for name in MILESTONE_LISTS},
    "projects": projects,
    "trips": trips,
    "tasks": tasks,
    "matters": matters,
}


def export(client: GatewayClient, table: str, options: Options, exported_by: str) -> bytes:
    return workbook(TABLES[table](client, options), exported_by)
