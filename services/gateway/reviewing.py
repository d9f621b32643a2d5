"""The arguments of the office's queries — Query.ListAwaitingReview (甄别, (十九)) and
Query.GetYearlyAssessment ((十九)(十五)): each checked and bounded before a service is asked, a bad
one refused naming field, value and rule (README "Queries")."""

from __future__ import annotations

from typing import Any

from services.gateway.errors import InvalidField
from services.kernel.contract.vocabulary import PLAN_YEARS, REVIEWED_TYPES
from services.kernel.reference import reference

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000  # items per page
MAX_AGE_DAYS = 3660  # ten years
MAX_PAGE = 100_000


def checked_review_request(request: Any) -> dict[str, Any]:
    """tracking's `awaiting_review` arguments from an AwaitingReviewRequest."""
    unit = request.unit
    if unit and not reference().is_hubei_region(unit):
        raise InvalidField(
            "unit",
            unit,
            "unknown_region",
            f"unit {unit!r} 不是湖北省的市州或县市区代码",
            f"unit {unit!r} is not the code of a Hubei 市州 or county",
        )
    if request.report_type and request.report_type not in REVIEWED_TYPES:
        raise InvalidField(
            "report_type",
            request.report_type,
            "reviewed_type",
            f"report_type 须为待甄别的报告类型之一：{'、'.join(sorted(REVIEWED_TYPES))}",
            f"report_type must be one of the reviewed types: {sorted(REVIEWED_TYPES)}",
        )
    return {
        "unit": unit,
        "report_type": request.report_type,
        "min_age_days": _bounded("min_age_days", request.min_age_days, 0, MAX_AGE_DAYS),
        "limit": _bounded("limit", request.limit, 0, MAX_LIMIT) or DEFAULT_LIMIT,
        "page": _bounded("page", request.page, 0, MAX_PAGE),
    }


def _bounded(field: str, value: int, lowest: int, highest: int) -> int:
    if not lowest <= value <= highest:
        raise InvalidField(
            field,
            str(value),
            "in_range",
            f"{field} 须在 {lowest} 到 {highest} 之间，收到 {value}",
            f"{field} must be from {lowest} to {highest}, got {value}",
        )
    return value


def checked_year(year: str) -> str:
    if year not in PLAN_YEARS:
        raise InvalidField(
            "year",
            year,
            "plan_year",
            f"year 须为 {PLAN_YEARS[0]}–{PLAN_YEARS[-1]} 之间的年份，如 2020，收到 {year!r}",
            f"year must be a year {PLAN_YEARS[0]}-{PLAN_YEARS[-1]} like 2020, got {year!r}",
        )
    return year
