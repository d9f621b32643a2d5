"""The words of public contract v1 (docs/CONTRACT.md): report types and who owns each, the
allowed values of closed fields, and the limits a report must keep.

Standard library only, so domain modules may import it (the facts of a project, `PROJECT_FACTS`,
have their one home here).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from types import MappingProxyType

SCHEMA_VERSION = 1

# The limits a report must keep (README "Limits"); each is checked before the work it bounds.
# Business dates: from EARLIEST_DATE (facts from before the plan are real: a leader appointed
# in 2018, a project signed in 2019) to tomorrow in Asia/Shanghai (FUTURE_TOLERANCE).
EARLIEST_DATE = date(2000, 1, 1)
FUTURE_TOLERANCE = timedelta(days=1)
MAX_AMOUNT = Decimal(10000)  # 亿元, i.e. 1 万亿: larger is a report in 元 by mistake
AMOUNT_PLACES = 4  # 0.0001 亿元 = 1 万元
MAX_DECIMAL_LENGTH = 40  # characters of a decimal string, read before any arithmetic
SHORT_TEXT, LONG_TEXT = 200, 2000  # characters, after NFC normalisation
MAX_COMPANIES_MET = 50  # per trip
MAX_EVENT_BYTES = 64 * 1024  # one report as compact UTF-8 JSON (a policy is a few KiB)
MAX_DEPTH = 16  # objects and lists nested in one report, the report itself counted
MAX_NUMBER_LENGTH = 24  # characters of a JSON number (the contract's integers are small)
MAX_ERRORS = 20  # errors listed per report; the rest are counted in one more

# Report type -> the service that owns (applies) it.
OWNER: Mapping[str, str] = MappingProxyType(
    {
        "project.proposed": "registry",
        "project.tracking_started": "registry",
        "project.signed": "registry",
        "project.assigned": "registry",
        "project.corrected": "registry",
        "project.withdrawn": "registry",
        "project.designated": "registry",
        "project.undesignated": "registry",
        "project.company_registered": "tracking",
        "project.construction_started": "tracking",
        "project.production_started": "tracking",
        "project.capital_arrived": "tracking",
        "milestone.retracted": "tracking",
        "milestone.verified": "tracking",
        "milestone.rejected": "tracking",
        "leader.appointed": "registry",
        "leader.trip_completed": "tracking",
        "promotion.event_held": "tracking",
        "task.completed": "tracking",
        "matter.progress_reported": "tracking",
        "policy.adopted": "scoring",
        # The office's own work (十九)(一)(十五): 甄别 of trips and themed events, targets,
        # 约谈 follow-up and the yearly rewards.
        "report.verified": "tracking",
        "report.rejected": "tracking",
        "target.set": "tracking",
        "summons.held": "scoring",
        "rectification.reported": "scoring",
        "reward.decided": "scoring",
    }
)
EVENT_TYPES: tuple[str, ...] = tuple(OWNER)
MILESTONE_TYPES = frozenset(
    {
        "project.company_registered",
        "project.construction_started",
        "project.production_started",
        "project.capital_arrived",
    }
)

# The reports that count for points and go through 甄别 (十九): Query.ListAwaitingReview.
REVIEWED_TYPES = MILESTONE_TYPES | {"leader.trip_completed", "promotion.event_held"}

CATEGORIES = (
    "real_estate",
    "characteristic_town",
    "ppp_urban_infrastructure",
    "new_infrastructure",
    "modern_services",
    "functional_institution",
    "foreign_investment",
)
CHANNELS = (
    "alumni",
    "chushang_return",
    "finance",
    "commissioned",
    "free_trade_zone",
    "park",
    "platform_event",
    "other",
)
# The facts of (二) a project carries, each of which `project.corrected` may change;
# `planned_by_leader` links a project to the leader whose major project it is ((二十一), (二十二)).
PROJECT_FACTS = (
    "name",
    "investor",
    "industry",
    "region",
    "total_investment",
    "categories",
    "channel",
    "planned_by_leader",
)
REGION_ROLES = ("principal", "investment_lead", "other")
DEPARTMENT_ROLES = ("department_head", "department_other")
CONSTRUCTION_KINDS = ("construction", "opening")
TARGET_REGIONS = ("greater_bay_area", "yangtze_delta", "beijing_tianjin_hebei", "other")
MATTER_STATUSES = ("in_progress", "done")
# 佐证材料 (docs/CONTRACT.md "Evidence"): the kinds of file recognised by their bytes, the
# largest file, and how many one report may name.
EVIDENCE_MEDIA_TYPES = (
    "application/pdf",
    "application/ofd",
    "image/jpeg",
    "image/png",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
MAX_EVIDENCE_FILES = 20
# The indicators a target may be set for (一)(十九): the scored measures; trips have quotas.
TARGET_INDICATORS = (
    "registrations",
    "construction_starts",
    "production_starts",
    "capital_arrived",
    "key_project_landings",
)
PLAN_YEARS = tuple(str(year) for year in range(2018, 2041))
COMMITMENT_STATUSES = ("in_progress", "done")
MAX_COMMITMENTS = 20  # per summons
MAX_ATTENDEES = 30
MAX_REWARDS = 17  # one per 市州
