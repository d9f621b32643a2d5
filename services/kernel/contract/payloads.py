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


class ProjectDesignated(OnProject):
    unit: str  # the 市州 or county government naming it one of its own key projects (二)


class ProjectUndesignated(ProjectDesignated):
    reason: str


class EvidenceFile(TypedDict):
    """A 佐证材料 file uploaded before the report (Evidence.Upload), named by its hash."""

    sha256: str
    name: str
    media_type: str  # vocabulary.EVIDENCE_MEDIA_TYPES
    size: int  # bytes


class WithEvidence(TypedDict):
    evidence: NotRequired[list[EvidenceFile]]  # optional, added in v1


class ProjectCompanyRegistered(OnProject, WithEvidence):
    credit_code: str
    company_name: str


class ProjectConstructionStarted(OnProject, WithEvidence):
    kind: str  # vocabulary.CONSTRUCTION_KINDS


class ProjectProductionStarted(OnProject, WithEvidence):
    pass


class ProjectCapitalArrived(OnProject, WithEvidence):
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


class LeaderTripCompleted(WithEvidence):
    leader_id: str
    destination: str
    departed_on: date
    returned_on: date
    companies_met: list[str]


class PromotionEventHeld(WithEvidence):
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


class ReportVerified(TypedDict):
    report_event_id: str  # a leader.trip_completed or promotion.event_held
    leader_id: NotRequired[str]  # the trip's leader
    unit: NotRequired[str]  # the themed event's 市州


class ReportRejected(ReportVerified):
    reason: str


class TargetSet(TypedDict):
    unit: str  # a 市州 or county code
    year: str
    indicator: str  # vocabulary.TARGET_INDICATORS
    yearly: Decimal  # a count, or 亿元 for capital_arrived
    quarterly: NotRequired[list[Decimal]]  # Q1..Q4


class Commitment(TypedDict):
    key: str
    text: str
    due: NotRequired[date]


class SummonsHeld(TypedDict):
    unit: str  # the 市州 summoned (约谈)
    quarter: str  # the ranking that summoned it
    held_on: date
    attendees: list[str]
    commitments: list[Commitment]


class Progress(TypedDict):
    commitment: str  # a commitment's key
    status: str  # vocabulary.COMMITMENT_STATUSES
    text: str


class RectificationReported(TypedDict):
    unit: str
    summons_event_id: str
    progress: list[Progress]


class Reward(TypedDict):
    unit: str
    reward_class: str  # 分类分档, as decided with 财政厅


class RewardDecided(TypedDict):
    year: str
    rewards: list[Reward]
    basis: str


Payload = (
    ProjectProposed
    | ProjectTrackingStarted
    | ProjectSigned
    | ProjectAssigned
    | ProjectCorrected
    | ProjectWithdrawn
    | ProjectDesignated
    | ProjectUndesignated
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
    | ReportVerified
    | ReportRejected
    | TargetSet
    | SummonsHeld
    | RectificationReported
    | RewardDecided
)

PAYLOAD_TYPES: Mapping[str, type] = MappingProxyType(
    {
        "project.proposed": ProjectProposed,
        "project.tracking_started": ProjectTrackingStarted,
        "project.signed": ProjectSigned,
        "project.assigned": ProjectAssigned,
        "project.corrected": ProjectCorrected,
        "project.withdrawn": ProjectWithdrawn,
        "project.designated": ProjectDesignated,
        "project.undesignated": ProjectUndesignated,
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
        "report.verified": ReportVerified,
        "report.rejected": ReportRejected,
        "target.set": TargetSet,
        "summons.held": SummonsHeld,
        "rectification.reported": RectificationReported,
        "reward.decided": RewardDecided,
    }
)
