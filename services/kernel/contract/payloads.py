"""The typed form of each report type's validated payload: what `validate_report` (and
`Report.from_primitive`) put in `Report.payload`, field for field.

At run time a payload is a plain dict; these TypedDicts let a reader and a type checker know its
keys and value types. Amounts are `Decimal` in 亿元, dates are `date`, a milestone's event id is
its canonical text; a key a report may leave out is `NotRequired`. Narrow a report's payload by
its type: `payload = cast(ProjectProposed, report.payload)` after checking
`report.type == "project.proposed"` (`PAYLOAD_TYPES` maps each wire type to its TypedDict).

Standard library only, so domain modules may import it. No `from __future__ import annotations`
here: Python 3.11 would then not see `NotRequired` in a TypedDict.
"""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NotRequired, TypedDict

# Shapes that recur --------------------------------------------------------------------------


class OnProject(TypedDict):
    project_code: str


class OnMilestone(TypedDict):
    milestone_event_id: str  # canonical UUID text


class MilestoneWithReason(OnMilestone):
    reason: str


class Investor(TypedDict):
    name: str
    origin: str  # ISO 3166 alpha-2, or CN-<province>
    fortune_global_500: bool
    china_top_500: bool


class ProjectFacts(TypedDict):
    """The facts of a project (二)."""

    name: str
    investor: Investor
    industry: str
    region: str
    total_investment: Decimal
    categories: list[str]
    channel: str
    planned_by_leader: NotRequired[str]


class Changes(TypedDict, total=False):
    """What `project.corrected` changes: at least one project fact, each as in a proposal (the
    keys of ProjectFacts, each optional: a TypedDict has no partial form of another)."""

    name: str
    investor: Investor
    industry: str
    region: str
    total_investment: Decimal
    categories: list[str]
    channel: str
    planned_by_leader: str


# One per report type ------------------------------------------------------------------------


class ProjectProposed(ProjectFacts, OnProject):
    pass


class ProjectTrackingStarted(OnProject):
    pass


class ProjectSigned(OnProject):
    contract_investment: Decimal


class ProjectAssigned(OnProject):
    leader: str
    task_force: str
    plan: str


class ProjectCorrected(OnProject):
    changes: Changes
    reason: str


class ProjectWithdrawn(OnProject):
    reason: str


class ProjectCompanyRegistered(OnProject):
    credit_code: str
    company_name: str


class ProjectConstructionStarted(OnProject):
    kind: str  # vocabulary.CONSTRUCTION_KINDS


class ProjectProductionStarted(OnProject):
    pass


class ProjectCapitalArrived(OnProject):
    amount: Decimal


class MilestoneRetracted(MilestoneWithReason):
    pass


class MilestoneVerified(OnMilestone):
    pass


class MilestoneRejected(MilestoneWithReason):
    pass


class LeaderAppointed(TypedDict):
    leader_id: str
    name: str
    unit: str  # a Hubei region code or dept:<key>
    role: str  # vocabulary.REGION_ROLES or DEPARTMENT_ROLES


class LeaderTripCompleted(TypedDict):
    leader_id: str
    destination: str
    departed_on: date
    returned_on: date
    companies_met: list[str]


class PromotionEventHeld(TypedDict):
    unit: str  # a 市州 code
    target_region: str  # vocabulary.TARGET_REGIONS
    title: str


class TaskCompleted(TypedDict):
    task_id: str
    unit: str


class MatterProgressReported(TypedDict):
    matter_id: str
    unit: str
    progress: str
    status: str  # vocabulary.MATTER_STATUSES


class PolicyAdopted(TypedDict):
    version: str
    effective_from: str  # a quarter such as "2020Q3"
    policy: dict[str, Any]  # as sent: scoring validates it


Payload = (
    ProjectProposed
    | ProjectTrackingStarted
    | ProjectSigned
    | ProjectAssigned
    | ProjectCorrected
    | ProjectWithdrawn
    | ProjectCompanyRegistered
    | ProjectConstructionStarted
    | ProjectProductionStarted
    | ProjectCapitalArrived
    | MilestoneRetracted
    | MilestoneVerified
    | MilestoneRejected
    | LeaderAppointed
    | LeaderTripCompleted
    | PromotionEventHeld
    | TaskCompleted
    | MatterProgressReported
    | PolicyAdopted
)

PAYLOAD_TYPES: Mapping[str, type] = MappingProxyType(
    {
        "project.proposed": ProjectProposed,
        "project.tracking_started": ProjectTrackingStarted,
        "project.signed": ProjectSigned,
        "project.assigned": ProjectAssigned,
        "project.corrected": ProjectCorrected,
        "project.withdrawn": ProjectWithdrawn,
        "project.company_registered": ProjectCompanyRegistered,
        "project.construction_started": ProjectConstructionStarted,
        "project.production_started": ProjectProductionStarted,
        "project.capital_arrived": ProjectCapitalArrived,
        "milestone.retracted": MilestoneRetracted,
        "milestone.verified": MilestoneVerified,
        "milestone.rejected": MilestoneRejected,
        "leader.appointed": LeaderAppointed,
        "leader.trip_completed": LeaderTripCompleted,
        "promotion.event_held": PromotionEventHeld,
        "task.completed": TaskCompleted,
        "matter.progress_reported": MatterProgressReported,
        "policy.adopted": PolicyAdopted,
    }
)
