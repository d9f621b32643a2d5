"""The rules of (二) that registry's Project follows, as plain values and functions.

The four lists in the order a project moves along them, 五个一, which of tracking's reports move a
project onto or off the 开工 list, the local key projects a 市州 or county names (its own lists of
(二)), and the refusals a project's reports meet. Standard library
and the contract's error type only: services/registry/domain.py applies them to its aggregates.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from services.kernel.contract.errors import RuleBroken

# The four lists of (二), in the order a project moves along them.
PROMOTION, TRACKING, SIGNED, STARTED = "promotion", "tracking", "signed", "started"
LIST_NAMES_ZH = {
    PROMOTION: "推介清单",
    TRACKING: "跟踪清单",
    SIGNED: "签约清单",
    STARTED: "开工清单",
}
LIST_ORDER = (PROMOTION, TRACKING, SIGNED, STARTED)
# 五个一 (二): of 一个项目、一名领导、一个专班、一套方案、一抓到底, the three facts to record.
FIVE_ONES = ("leader", "task_force", "plan")
# Tracking's reports that move a project onto the 开工 list, and the checks that undo that move.
START_REPORT = "project.construction_started"
START_UNDONE = frozenset({"milestone.rejected", "milestone.retracted"})
START_REDONE = "milestone.verified"


def check_forward(code: str, stage: str, target: str) -> None:
    """A report moves a project only further along the lists, never back nor in place."""
    if LIST_ORDER.index(target) <= LIST_ORDER.index(stage):
        raise RuleBroken(
            "type",
            target,
            "list_move_not_allowed",
            f"项目 {code} 已在{LIST_NAMES_ZH[stage]}，不能移回{LIST_NAMES_ZH[target]}",
            f"project {code} is on the {stage} list; it cannot move back to {target}",
        )


def check_increase(code: str, signed: Decimal | None, contract_investment: Decimal) -> None:
    """A project signs again only for more than it signed before (增资)."""
    if signed is not None and contract_investment <= signed:
        raise RuleBroken(
            "payload.contract_investment",
            contract_investment,
            "not_an_increase",
            f"项目 {code} 已按 {signed} 亿元签约；再次签约须为增资，"
            f"{contract_investment} 亿元不高于原额",
            f"project {code} was signed at {signed}; a later signing must raise it, "
            f"{contract_investment} does not",
        )


def list_after_tracking(
    kind: str,
    milestone: str,
    stage: str,
    start_report: str | None,
    start_undone_by: str | None,
) -> str | None:
    """The list a project moves to for a tracking report of `kind` about the construction start
    `milestone`, or None when it stays where it is.

    A signed project's first start puts it on 开工; a rejection or retraction of that start puts
    it back on 签约; the office's later verification of a rejected start puts it on 开工 again (a
    retraction is final).
    """
    if kind == START_REPORT and stage == SIGNED:
        return STARTED
    if kind in START_UNDONE and stage == STARTED and milestone == start_report:
        return SIGNED
    if (
        kind == START_REDONE
        and stage == SIGNED
        and milestone == start_report
        and start_undone_by == "milestone.rejected"
    ):
        return STARTED
    return None


def check_in_unit(code: str, unit: str, unit_name: str, lies_in_unit: bool) -> None:
    """A government names as its own key projects only projects located in its area (二:
    各市、州、县政府谋划并提出本地的招商引资重点项目)."""
    if not lies_in_unit:
        raise RuleBroken(
            "payload.unit",
            unit,
            "project_outside_unit",
            f"项目 {code} 不在{unit_name}（{unit}）境内：各市、州、县政府只能将本地项目列为本地"
            "招商引资重点项目（二）",
            f"project {code} does not lie in {unit}; a government designates only projects in "
            "its own area as its key projects ((二))",
        )


def check_designation(code: str, unit: str, designated: bool, designating: bool) -> None:
    """Designating a project twice, or undesignating one never designated, is a mistake."""
    if designated == designating:
        rule = "already_designated" if designating else "not_designated"
        zh = "已是" if designating else "不是"
        en = "already is" if designating else "is not"
        raise RuleBroken(
            "payload.project_code",
            code,
            rule,
            f"项目 {code} {zh} {unit} 的本地招商引资重点项目（二）",
            f"project {code} {en} a key project of {unit} ((二))",
        )


def missing_five_ones(five_in_one: Mapping[str, str] | None) -> list[str]:
    """Which of 五个一 (二) nobody has reported yet."""
    given = five_in_one or {}
    return [part for part in FIVE_ONES if not given.get(part)]
