"""The gateway's own refusals: request arguments checked before any service is asked, and the
answers for what a service says is not there.

Each `checked_*` returns the argument as the services take it, or raises the errors.py kind
that names field, value and rule in both languages.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from services.gateway import audit
from services.gateway.errors import InvalidField, InvalidRequest, NotFound
from services.kernel.contract.calendar import SHANGHAI
from services.kernel.contract.lookups import is_known_source
from services.kernel.reference import reference
from zhaoshang.api import zhaoshang_pb2 as pb

QUARTER = re.compile(r"^\d{4}Q[1-4]$")
LISTS = ("promotion", "tracking", "signed", "started")  # (二), registry's list names
PROVINCE = "420000"


def checked_quarter(quarter: str) -> str:
    if not QUARTER.match(quarter):
        raise InvalidRequest(
            "quarter",
            quarter,
            "quarter_format",
            f"quarter 应形如 2020Q3，收到 {quarter!r}",
            f"quarter must look like 2020Q3, got {quarter!r}",
        )
    return quarter


def checked_project_code(code: str) -> str:
    if not code:
        raise InvalidRequest(
            "project_code", code, "required", "缺少 project_code", "project_code is required"
        )
    return code


def checked_unit(unit: str, field: str = "unit") -> str:
    """Empty (every unit), a Hubei region code, dept:<key> or org:<key> (附件4)."""
    ref = reference()
    if not unit or ref.is_hubei_region(unit):
        return unit
    if unit.startswith("dept:") and unit[5:] in ref.departments:
        return unit
    if unit.startswith("org:") and unit[4:] in ref.organisations:
        return unit
    raise InvalidField(
        field,
        unit,
        "unknown_unit",
        f"{unit!r} 不是湖北省行政区划代码、dept:<部门键> 或 org:<附件4单位键>",
        f"{unit!r} is neither a Hubei region code, dept:<department key> nor org:<key>",
    )


def checked_prefecture(unit: str) -> str:
    """Empty (every prefecture) or one of the 17: themed events are counted per prefecture."""
    unit = checked_unit(unit)
    if unit and unit not in {p.code for p in reference().prefectures}:
        raise InvalidField(
            "unit",
            unit,
            "not_prefecture",
            f"{unit!r} 不是 17 个市州之一：专题招商活动按市州统计（三）",
            f"{unit!r} is not one of the 17 prefectures; themed events are counted per "
            "prefecture ((三))",
        )
    return unit


def checked_list_scope(request: pb.ListProjectsRequest) -> dict[str, Any]:
    ref = reference()
    if request.list and request.list not in LISTS:
        raise InvalidField(
            "list",
            request.list,
            "unknown_list",
            f"{request.list!r} 不是清单名：应为 {', '.join(LISTS)}",
            f"{request.list!r} is not a list; expected one of {', '.join(LISTS)}",
        )
    if request.region and request.region != PROVINCE and not ref.is_hubei_region(request.region):
        raise InvalidField(
            "region",
            request.region,
            "not_hubei_region",
            f"{request.region!r} 不是湖北省行政区划代码（GB/T 2260）",
            f"{request.region!r} is not a Hubei region code (GB/T 2260)",
        )
    if request.department and request.department not in ref.departments:
        raise InvalidField(
            "department",
            request.department,
            "unknown_department",
            f"{request.department!r} 不是已知的省有关部门",
            f"{request.department!r} is not a known provincial department",
        )
    return {
        "list_name": request.list,
        "region": request.region,
        "department": request.department,
        "register": request.register,
    }


def checked_as_of(as_of: str) -> str:
    """An ISO date; empty is today in Shanghai."""
    if not as_of:
        return datetime.now(SHANGHAI).date().isoformat()
    try:
        return date.fromisoformat(as_of).isoformat()
    except ValueError:
        raise InvalidField(
            "as_of", as_of, "date_format", f"{as_of!r} 不是 ISO 日期", f"{as_of!r} is no ISO date"
        ) from None


def checked_moment(as_of: str) -> str:
    """Empty, an ISO date, or an ISO moment with its offset: what a rebuild reads up to."""
    if as_of and not audit.valid_as_of(as_of):
        raise InvalidRequest(
            "as_of",
            as_of,
            "moment_format",
            f"as_of 应为日期 2020-10-15 或带时区的时刻，收到 {as_of!r}",
            f"as_of must be a date like 2020-10-15 or a moment with its offset, got {as_of!r}",
        )
    return as_of


def checked_key(value: str, table: Any, field: str) -> str:
    if value and value not in table:
        raise InvalidField(
            field, value, f"unknown_{field}", f"{value!r} 未知", f"{value!r} is not known"
        )
    return value


def checked_source(source: str) -> str | None:
    """None (every sender) or a known source."""
    if source and not is_known_source(source):
        raise InvalidField(
            "source",
            source,
            "unknown_source",
            f"{source!r} 不是已知的报送系统",
            f"unknown {source!r}",
        )
    return source or None


def checked_log_service(service: str) -> str:
    if service not in audit.LOG_SERVICES:
        raise InvalidRequest(
            "service",
            service,
            "log_service",
            f"service 应为 {' 或 '.join(audit.LOG_SERVICES)}，收到 {service!r}",
            f"service must be one of {', '.join(audit.LOG_SERVICES)}, got {service!r}",
        )
    return service


def no_ranking(quarter: str, view: str) -> NotFound:
    return NotFound(
        "quarter",
        quarter,
        "no_ranking",
        f"{quarter} 没有{'正式' if view == 'official' else '临时'}排名",
        f"there is no {view} ranking for {quarter}",
    )


def no_circular(quarter: str) -> NotFound:
    return NotFound(
        "quarter",
        quarter,
        "no_circular",
        f"{quarter} 尚无通报：排名未发布，或通报尚在生成",
        f"there is no circular for {quarter}: not published, or still being made",
    )


def no_scorecard(region: str) -> NotFound:
    return NotFound(
        "region",
        region,
        "not_prefecture",
        f"{region!r} 不是市州代码，没有它的评分卡",
        f"{region!r} is not a 市州 code: it has no scorecard",
    )


def no_project(code: str) -> NotFound:
    return NotFound(
        "project_code", code, "unknown_project", f"没有编号为 {code} 的项目", f"no project {code}"
    )
