"""The office's yearly and follow-up work as scoring's use cases (a mixin of ScoringApplication):
applying `summons.held`, `rectification.reported` and `reward.decided` (services/scoring/
followup.py), the yearly assessment (services/scoring/assessment.py) and the open commitments
the next circulars show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from services.kernel.contract.ranking import RankingAnswer
from services.kernel.contract.report import Report
from services.kernel.ingest.reports import Batch, envelope
from services.scoring.assessment import assess, quarters_of, summoned_in
from services.scoring.followup import (
    FollowUp,
    Rewards,
    check_rewards,
    check_summons,
    office_only,
)
from services.scoring.policy import Policy

OFFICE_TYPES = frozenset({"summons.held", "rectification.reported", "reward.decided"})


class OfficeWork:
    """Summons follow-up, rewards and the yearly assessment (十九)(十五). ScoringApplication
    gives the rankings and policies it reads: declared here, defined there."""

    published: Callable[[str], RankingAnswer | None]
    get_ranking: Callable[..., RankingAnswer]  # (quarter, view="official")
    policy_for: Callable[..., Policy]  # (quarter, recorded_by: datetime | None = None)

    def _stored(self, aggregate_id: UUID) -> Any | None:
        try:
            return cast(Any, self).repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def apply_office_report(self, report: Report, batch: Batch) -> None:
        p: Mapping[str, Any] = report.payload
        follow_up = batch.get(FollowUp.create_id()) or FollowUp()
        if report.type == "summons.held":
            office_only(report.source, "记录约谈", "records a summons")
            published = self.published(p["quarter"])
            check_summons(p, None if published is None else published["summons"])
            held = ("unit", "quarter", "held_on", "attendees", "commitments")
            follow_up.trigger_event(
                FollowUp.SummonsHeld, **{k: p[k] for k in held}, **envelope(report)
            )
            batch.add(follow_up)
        elif report.type == "rectification.reported":
            follow_up.check_rectification(p, report.source)
            reported = ("unit", "summons_event_id", "progress")
            follow_up.trigger_event(
                FollowUp.RectificationReported, **{k: p[k] for k in reported}, **envelope(report)
            )
            batch.add(follow_up)
        else:
            office_only(report.source, "决定年度奖励", "decides the yearly rewards")
            year = p["year"]
            rewards = batch.get(Rewards.create_id(year))
            rankings = {q: self.get_ranking(q) for q in quarters_of(year)}
            policy = self.policy_for(f"{year}Q4")
            check_rewards(p, rewards, summoned_in(rankings), policy.reward_summoned)
            assessed = assess(year, rankings, policy, None)
            shown = ("region", "name", "rank", "result", "summoned_in_year")
            rewards = rewards or Rewards(year=year)
            rewards.trigger_event(
                Rewards.Decided,
                year=year,
                rewards=list(p["rewards"]),
                basis=p["basis"],
                rule=policy.yearly_rule,
                results=[{k: u[k] for k in shown} for u in assessed["units"]],
                **envelope(report),
            )
            batch.add(rewards)

    def yearly_assessment(self, year: str) -> dict:
        """A year's result per 市州 from its four quarters (十九), and its rewards (十五)."""
        rankings = {q: self.get_ranking(q) for q in quarters_of(year)}
        rewards = self._stored(Rewards.create_id(year))
        decision = None if rewards is None else rewards.decision
        return assess(year, rankings, self.policy_for(f"{year}Q4"), decision)

    def open_commitments(self, unit: str = "") -> list[dict]:
        """The commitments made at 约谈 not yet reported done."""
        follow_up = self._stored(FollowUp.create_id())
        return [] if follow_up is None else follow_up.open_commitments(unit)
