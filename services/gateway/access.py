"""Who may read and do what through Query, Audit and Office (README "Credentials and access").

Two levels, each a small check taking the `Caller` and raising `AccessDenied` (errors.py),
which names field, value and rule in both languages:
- function level, `require`: a call needs one of its roles (`role_required`);
- object level: what is asked for against the caller's unit's scope. The office and auditors
  read everything; the province-wide views, raw logs, verification and rebuilds are theirs
  alone (`office_or_auditor_only`). Any other unit reads within the jurisdiction it reports in
  (services/kernel/contract/jurisdiction.py): a 市州 its region and counties, a county itself,
  a department the projects of the 附件2 industries it leads and itself as a unit
  (`outside_read_scope`). A project's region and industry are taken from the service's answer.
  Published rankings and scorecards are circulated: every reader may read them.

`guarded` applies the checks to a servicer method: it finds the caller, checks its roles and
counts each refusal, by method and rule, in the gateway's metrics.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import grpc

from services.gateway.caller import AUDIT, READ, REPORT, REVIEW, Caller
from services.gateway.checks import PROVINCE
from services.gateway.errors import AccessDenied, PermissionDenied, answering
from services.kernel.contract.jurisdiction import Jurisdiction, Jurisdictions
from services.kernel.process.metrics import Metrics
from services.kernel.reference import reference

READERS = (READ, AUDIT)
# A gateway without authentication (in-process tests with fakes) serves the office, as before.
access_log = logging.getLogger("zhaoshang.access")

UNCHECKED = Caller("", "office", frozenset({REPORT, READ, REVIEW}))

SCOPES_ZH = (
    "市州读本市州及所辖县市区的数据，县读本县的数据，省有关部门读附件2中本部门牵头产业的项目"
    "和本部门的事项"
)
SCOPES_EN = (
    "a prefecture reads its own area and its counties, a county its own, a department the "
    "projects of the attachment-2 industries it leads and its own affairs"
)


@functools.cache
def _jurisdictions() -> Jurisdictions:
    return Jurisdictions(reference())


def sees_everything(caller: Caller) -> bool:
    return caller.is_office or caller.is_auditor


def scope_of(caller: Caller) -> Jurisdiction | None:
    """The caller's jurisdiction; None for the office and auditors (everything)."""
    return None if sees_everything(caller) else _jurisdictions().of(caller.unit)


def require(caller: Caller, method: str, *roles: str) -> None:
    """Function level: `method` needs one of `roles`."""
    if not any(caller.has(role) for role in roles):
        held = ",".join(sorted(caller.roles)) or "-"
        raise AccessDenied(
            "roles",
            held,
            "role_required",
            f"调用 {method} 需要 {' 或 '.join(roles)} 角色；{caller.unit} 的凭据只有 {held}",
            f"{method} needs the role {' or '.join(roles)}; {caller.unit}'s credential has {held}",
        )


def check_everything(caller: Caller, field: str, value: str, what_zh: str, what_en: str) -> None:
    """Province-wide views, raw logs, verification and rebuilds: the office's and auditors'."""
    if not sees_everything(caller):
        raise AccessDenied(
            field,
            value,
            "office_or_auditor_only",
            f"{what_zh}只供省招商引资工作领导小组办公室和审计员读取，{caller.unit} 无权读取",
            f"{what_en}: for the office and auditors only, not for {caller.unit}",
        )


def outside_scope(
    caller: Caller, field: str, value: str, what_zh: str, what_en: str
) -> AccessDenied:
    return AccessDenied(
        field,
        value,
        "outside_read_scope",
        f"{caller.unit} 无权读取{what_zh}：{SCOPES_ZH}",
        f"{caller.unit} may not read {what_en}: {SCOPES_EN}",
    )


def check_unit_in_scope(caller: Caller, unit: str, field: str = "unit") -> None:
    """A unit's view: a region code or dept:<key>; empty is every unit, province-wide."""
    if not unit:
        check_everything(caller, field, unit, "全省各单位的数据", "every unit's data")
        return
    scope = scope_of(caller)
    if scope is not None and not scope.covers_unit(unit):
        raise outside_scope(caller, field, unit, f"单位 {unit} 的数据", f"the data of unit {unit}")


def check_project_in_scope(caller: Caller, project: Mapping[str, Any]) -> None:
    """A project as registry answered it: its region and industry decide."""
    scope = scope_of(caller)
    if scope is None:
        return
    region, industry = project["region"], project["industry"]
    if not scope.covers_project(region, industry):
        code = project["project_code"]
        raise outside_scope(
            caller,
            "project_code",
            code,
            f"项目 {code}（所在地 {region}，产业 {industry}）",
            f"project {code} (region {region}, industry {industry})",
        )


def check_list_in_scope(caller: Caller, region: str, department: str) -> None:
    """A list of (二): a department's industries, a region, or (neither) the province."""
    if department:
        check_unit_in_scope(caller, f"dept:{department}", "department")
    elif region and region != PROVINCE:
        check_unit_in_scope(caller, region, "region")
    else:
        check_everything(caller, "region", region, "全省的项目清单", "the province's lists")


def unit_of_source(source: str) -> str:
    """The unit a sending system reports for: pref:/county: its region code, else itself."""
    kind, _, key = source.partition(":")
    return key if kind in ("pref", "county") else source


def check_source_in_scope(caller: Caller, source: str) -> None:
    """What a sender was refused: its own, a 市州's also its counties'."""
    scope = scope_of(caller)
    if scope is not None and not scope.covers_unit(unit_of_source(source)):
        raise outside_scope(
            caller, "source", source, f" {source} 被拒收的报告", f"{source}'s refusals"
        )


def check_ranking_readable(caller: Caller, quarter: str, published: bool) -> None:
    """A published ranking is circulated; an unpublished one compares every 市州."""
    if not published:
        check_everything(
            caller,
            "quarter",
            quarter,
            f"{quarter} 未发布的排名",
            f"the unpublished {quarter} ranking",
        )


def check_scorecard_readable(caller: Caller, quarter: str, region: str, published: bool) -> None:
    """A published scorecard is circulated; an unpublished one is its 市州's."""
    scope = scope_of(caller)
    if not published and scope is not None and not scope.covers_unit(region):
        raise outside_scope(
            caller,
            "region",
            region,
            f" {region} 在 {quarter} 未发布的评分卡",
            f"the unpublished {quarter} scorecard of {region}",
        )


class Guarded(Protocol):
    """A servicer `guarded` can serve: who calls, and where refusals are counted."""

    auth: Any  # .caller(context) -> Caller | None (None: authentication off)
    metrics: Metrics | None


def guarded(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A gRPC method for callers holding one of `roles`, answered as `answering` does; the
    method is called with the caller as its last argument. Each call is recorded (`accessed`)."""

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        method = handler.__qualname__.replace("Servicer.", ".")  # Query.GetProject

        @answering
        @functools.wraps(handler)
        def checked(self: Guarded, request: Any, context: grpc.ServicerContext) -> Any:
            caller = None
            try:
                caller = self.auth.caller(context) or UNCHECKED
                require(caller, method, *roles)
                answer = handler(self, request, context, caller)
            except PermissionDenied as refused:
                if self.metrics is not None:
                    self.metrics.record_refusal(method, refused.rule)
                accessed(method, caller, refused.rule)
                raise
            except Exception as failed:  # answered as `answering` maps it (not found, …)
                accessed(method, caller, getattr(failed, "rule", type(failed).__name__))
                raise
            accessed(method, caller, "answered")
            return answer

        return checked

    return decorate


def accessed(method: str, caller: Caller | None, outcome: str) -> None:
    """The access record of one call: which method, by which credential, for which unit and
    person (a delegate's operator), and how it ended — every read of investors' data, every
    export a client assembles from such reads, kept in the gateway's log (等保 audit)."""
    who = caller or UNCHECKED
    access_log.info(
        "%s by %s (%s%s): %s",
        method,
        who.credential_id,
        who.unit,
        f", for {who.operator}" if who.operator else "",
        outcome,
        extra={
            "method": method,
            "credential": who.credential_id,
            "unit": who.unit,
            "operator": who.operator,
            "status": outcome,
        },
    )
