"""The shape of every report of contract v1 (docs/CONTRACT.md): the envelope and one marshmallow
schema per report type (`PAYLOADS`), built once at import.

Each schema is strict (an unknown field is an error) and its fields (fields.py) say what each
value must be; payloads.py gives the typed form of what each schema loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, validates_schema

from services.kernel.contract.fields import (
    AnyObject,
    ByteSize,
    Choice,
    CreditCode,
    Decimal100M,
    Destination,
    Flag,
    HubeiRegion,
    IsoDate,
    Key,
    Known,
    ListOf,
    LongText,
    MatterUnit,
    Obj,
    OwnObject,
    Pattern,
    Prefecture,
    Quarter,
    SchemaVersion,
    Sha256,
    Source,
    Text,
    Unit,
    Uuid,
)
from services.kernel.contract.messages import OBJECT, Violation, broken
from services.kernel.contract.vocabulary import (
    CATEGORIES,
    CHANNELS,
    COMMITMENT_STATUSES,
    CONSTRUCTION_KINDS,
    DEPARTMENT_ROLES,
    EVENT_TYPES,
    EVIDENCE_MEDIA_TYPES,
    MATTER_STATUSES,
    MAX_ATTENDEES,
    MAX_COMMITMENTS,
    MAX_COMPANIES_MET,
    MAX_EVIDENCE_FILES,
    MAX_REWARDS,
    PLAN_YEARS,
    PROJECT_FACTS,
    REGION_ROLES,
    TARGET_INDICATORS,
    TARGET_REGIONS,
)


class Strict(Schema):
    """Unknown fields are refused: a typo must not pass silently."""

    # marshmallow annotates error_messages as an instance variable; it is read from the class.
    error_messages: ClassVar[dict[str, Any]] = {  # type: ignore[misc]
        "type": Violation("invalid_type", {"expected": OBJECT}),
        "unknown": Violation("unknown_field"),
    }


class Envelope(Strict):
    event_id = Uuid(required=True)
    type = Choice(EVENT_TYPES, rule="unknown_event_type", required=True)
    source = Source(required=True)
    occurred_on = IsoDate(required=True)
    schema_version = SchemaVersion(required=True)
    payload = AnyObject(required=True)


class Investor(Strict):
    name = Text(required=True)
    origin = Pattern(r"[A-Z]{2}|CN-[0-9]{2}", "origin_format", required=True)
    fortune_global_500 = Flag(load_default=False)
    china_top_500 = Flag(load_default=False)


class ProjectFacts(Strict):
    """The facts of a project (二); also what project.corrected may change."""

    name = Text(required=True)
    investor = Obj(Investor, required=True)
    industry = Known("industries", "unknown_industry", required=True)
    region = HubeiRegion(required=True)
    total_investment = Decimal100M(required=True)
    categories = ListOf(Choice(CATEGORIES), len(CATEGORIES), distinct=True, load_default=list)
    channel = Choice(CHANNELS, required=True)
    # Optional, added in v1 (fields can be added): the leader (leader_id) who planned this as
    # their major project ((二十一), (二十二)). No default, so a report without it keeps its digest.
    planned_by_leader = Key()


class Changes(ProjectFacts):
    # marshmallow annotates error_messages as an instance variable; it is read from the class.
    error_messages: ClassVar[dict[str, Any]] = {  # type: ignore[misc]
        "unknown": Violation("not_correctable", {"allowed": ", ".join(PROJECT_FACTS)})
    }


def _not_empty(changes: Mapping) -> None:
    if not changes:
        raise broken("empty_changes")


class OnProject(Strict):
    project_code = Key(required=True)


class ProjectProposed(ProjectFacts, OnProject):
    pass


class ProjectSigned(OnProject):
    contract_investment = Decimal100M(required=True)


class ProjectAssigned(OnProject):
    leader = Text(required=True)
    task_force = Text(required=True)
    plan = LongText(required=True)


class ProjectCorrected(OnProject):
    # A partial over exactly the correctable fields: each present one is checked as in
    # project.proposed, nested objects (investor) in full.
    changes = Obj(Changes(partial=PROJECT_FACTS), required=True, validate=_not_empty)
    reason = LongText(required=True)


class WithReason(OnProject):
    reason = LongText(required=True)


class Designated(OnProject):
    """(二): a 市州 or county government names the project one of its own key projects."""

    unit = HubeiRegion(required=True)


class Undesignated(Designated):
    reason = LongText(required=True)


class EvidenceFile(Strict):
    """A 佐证材料 file, uploaded before the report that names it (Evidence.Upload)."""

    sha256 = Sha256(required=True)
    name = Text(required=True)
    media_type = Choice(EVIDENCE_MEDIA_TYPES, required=True)
    size = ByteSize(required=True)


class WithEvidence(Strict):
    # Optional, added in v1: no default, so a report without it keeps its digest. That each file
    # was uploaded is tracking's rule (services/tracking/evidence.py).
    evidence = ListOf(Obj(EvidenceFile), MAX_EVIDENCE_FILES, distinct=False)


class CompanyRegistered(OnProject, WithEvidence):
    credit_code = CreditCode(required=True)
    company_name = Text(required=True)


class ConstructionStarted(OnProject, WithEvidence):
    kind = Choice(CONSTRUCTION_KINDS, required=True)


class ProductionStarted(OnProject, WithEvidence):
    pass


class CapitalArrived(OnProject, WithEvidence):
    amount = Decimal100M(required=True)


class OnMilestone(Strict):
    milestone_event_id = Uuid(as_text=True, required=True)


class MilestoneWithReason(OnMilestone):
    reason = LongText(required=True)


class LeaderAppointed(Strict):
    leader_id = Key(required=True)
    name = Text(required=True)
    unit = Unit(required=True)
    role = Choice(REGION_ROLES + DEPARTMENT_ROLES, required=True)

    @validates_schema
    def _role_fits_unit(self, data: Mapping, **_: Any) -> None:
        # A provincial department has no government roles; a region's unit may name a leader of
        # one of its own departments (二十二) as well as its government's (二十一).
        if data["unit"].startswith("dept:") and data["role"] not in DEPARTMENT_ROLES:
            raise ValidationError(
                [
                    Violation(
                        "role_unit_mismatch",
                        {"unit": data["unit"], "allowed": ", ".join(DEPARTMENT_ROLES)},
                    )
                ],
                field_name="role",
            )


class TripCompleted(WithEvidence):
    leader_id = Key(required=True)
    destination = Destination(required=True)
    departed_on = IsoDate(required=True)
    returned_on = IsoDate(required=True)
    companies_met = ListOf(Text(), MAX_COMPANIES_MET, required=True)

    @validates_schema
    def _returned_after_departed(self, data: Mapping, **_: Any) -> None:
        if data["returned_on"] < data["departed_on"]:
            raise ValidationError(
                [
                    Violation(
                        "returned_before_departed",
                        {"departed_on": data["departed_on"].isoformat()},
                    )
                ],
                field_name="returned_on",
            )


class EventHeld(WithEvidence):
    unit = Prefecture(required=True)
    target_region = Choice(TARGET_REGIONS, required=True)
    title = Text(required=True)


class TaskCompleted(Strict):
    task_id = Known("tasks", "unknown_task", required=True)
    unit = Unit(required=True)


class MatterProgressReported(Strict):
    matter_id = Known("matters", "unknown_matter", required=True)
    unit = MatterUnit(required=True)
    progress = LongText(required=True)
    status = Choice(MATTER_STATUSES, required=True)


class OnReport(Strict):
    """A check of a leader's trip (by its leader) or a themed event (by its 市州), (十九)."""

    report_event_id = Uuid(as_text=True, required=True)
    leader_id = Key()
    unit = Prefecture()


class ReportWithReason(OnReport):
    reason = LongText(required=True)


class TargetSet(Strict):
    unit = HubeiRegion(required=True)
    year = Choice(PLAN_YEARS, required=True)
    indicator = Choice(TARGET_INDICATORS, required=True)
    yearly = Decimal100M(required=True)
    quarterly = ListOf(Decimal100M(), 4)


class Commitment(Strict):
    key = Key(required=True)
    text = LongText(required=True)
    due = IsoDate()


class SummonsHeld(Strict):
    unit = Prefecture(required=True)
    quarter = Quarter(required=True)
    held_on = IsoDate(required=True)
    attendees = ListOf(Text(), MAX_ATTENDEES, required=True)
    commitments = ListOf(Obj(Commitment), MAX_COMMITMENTS, required=True)


class Progress(Strict):
    commitment = Key(required=True)
    status = Choice(COMMITMENT_STATUSES, required=True)
    text = LongText(required=True)


class RectificationReported(Strict):
    unit = Prefecture(required=True)
    summons_event_id = Uuid(as_text=True, required=True)
    progress = ListOf(Obj(Progress), MAX_COMMITMENTS, required=True)


class Reward(Strict):
    unit = Prefecture(required=True)
    reward_class = Text(40, required=True)


class RewardDecided(Strict):
    year = Choice(PLAN_YEARS, required=True)
    rewards = ListOf(Obj(Reward), MAX_REWARDS, required=True)
    basis = LongText(required=True)


class PolicyAdopted(Strict):
    """Only the wrapping: the policy's content is validated by scoring."""

    version = Text(40, required=True)
    effective_from = Quarter(required=True)
    policy = OwnObject(required=True)


ENVELOPE = Envelope()
PAYLOADS: Mapping[str, Schema] = MappingProxyType(
    {
        "project.proposed": ProjectProposed(),
        "project.tracking_started": OnProject(),
        "project.signed": ProjectSigned(),
        "project.assigned": ProjectAssigned(),
        "project.corrected": ProjectCorrected(),
        "project.withdrawn": WithReason(),
        "project.designated": Designated(),
        "project.undesignated": Undesignated(),
        "project.company_registered": CompanyRegistered(),
        "project.construction_started": ConstructionStarted(),
        "project.production_started": ProductionStarted(),
        "project.capital_arrived": CapitalArrived(),
        "milestone.retracted": MilestoneWithReason(),
        "milestone.verified": OnMilestone(),
        "milestone.rejected": MilestoneWithReason(),
        "leader.appointed": LeaderAppointed(),
        "leader.trip_completed": TripCompleted(),
        "promotion.event_held": EventHeld(),
        "task.completed": TaskCompleted(),
        "matter.progress_reported": MatterProgressReported(),
        "policy.adopted": PolicyAdopted(),
        "report.verified": OnReport(),
        "report.rejected": ReportWithReason(),
        "target.set": TargetSet(),
        "summons.held": SummonsHeld(),
        "rectification.reported": RectificationReported(),
        "reward.decided": RewardDecided(),
    }
)
