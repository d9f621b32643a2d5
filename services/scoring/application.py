"""Scoring: consumes registry's and tracking's events, ranks the 17 市州 each quarter (十九),
publishes rankings, owns the scoring policy (policy.adopted), and rebuilds rankings from the
upstream logs for auditors.

What it consumed is kept in its own store as ledgers (one per upstream, each entry the batch of
wire events a message carried), with the upstream positions in the same transactions. The facts
projection is folded from the ledgers at start and keeps only its state in memory, reading the
ledgers again for what a ranking asks of past events; rankings are pure functions of facts and
policy (services/scoring/rebuild.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import yaml
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import AggregateEvent
from eventsourcing.persistence import Tracking

from services.kernel.bus.consumer import Follower
from services.kernel.contract import ids
from services.kernel.contract.calendar import SHANGHAI
from services.kernel.contract.errors import RuleBroken
from services.kernel.contract.payloads import PolicyAdopted
from services.kernel.contract.ranking import HashedContent, RankingAnswer, Rebuild, Scorecard
from services.kernel.contract.report import Report
from services.kernel.ingest.reports import Batch, ReportIntake
from services.kernel.reference import DATA_DIR, Reference, reference
from services.kernel.store.environment import ServiceApplication
from services.scoring.domain import (
    Ledger,
    PolicyBook,
    PolicyError,
    PublishedRanking,
    ScoringError,
)
from services.scoring.facts import Facts
from services.scoring.office import OFFICE_TYPES, OfficeWork
from services.scoring.policy import Policy
from services.scoring.rebuild import (
    OFFICIAL,
    PROVISIONAL,
    UPSTREAMS,
    Replay,
    Units,
    differences,
    rank,
    with_positions,
)
from services.scoring.targets import progress as target_progress
from services.scoring.upstream import Entry, read_entry

__all__ = ["OFFICIAL", "PROVISIONAL", "ScoringApplication", "load_policy_file"]

DEFAULT_POLICY_FILE = DATA_DIR / "policy-2020.yaml"
# Earlier defaults, kept as they were: the rankings published under them rebuild as published.
PAST_POLICIES_DIR = Path(__file__).parent / "policies"
READ_PAGE = 2000  # notifications per read_wire call in a rebuild
LEDGER_PAGE = 20  # ledger events per read of scoring's store: each holds up to 1,000 wire events

# pull(start, stop, limit) -> an upstream's wire message, or None past its end (read_wire).
Read = Callable[[int, int | None, int], Mapping | None]


def read_policy_file(path: Path = DEFAULT_POLICY_FILE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_policy_file(path: Path = DEFAULT_POLICY_FILE) -> Policy:
    return Policy.from_mapping(read_policy_file(path))


def past_policies(directory: Path = PAST_POLICIES_DIR) -> dict[str, dict[str, Any]]:
    """The earlier default policies' content by version (2020.1 had quarterly reward tiers)."""
    found = (read_policy_file(path) for path in sorted(directory.glob("*.yaml")))
    return {str(data["version"]): data for data in found}


def read_log(read: Read, stop: int | None = None) -> Iterator[Mapping]:
    """An upstream's wire messages from position 1 (up to `stop`), page by page."""
    start = 1
    while stop is None or start <= stop:
        page_stop = None if stop is None else min(stop, start + READ_PAGE - 1)
        body = read(start, page_stop, READ_PAGE)
        if body is None:
            return
        yield body
        start = body["last"] + 1


class ScoringApplication(OfficeWork, ServiceApplication):
    """Scoring's store, with its intake of policy.adopted reports (`reports`) and its follower
    of registry and tracking (`follower`: the facts are rebuilt when another replica applied
    more)."""

    name = "scoring"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        ref: Reference | None = None,
        default_policy: Policy | None = None,
    ) -> None:
        self.ref = ref or reference()
        self.default_policy_data: dict[str, Any] | None = read_policy_file()
        self.past_policies = past_policies()
        self.default_policy = default_policy or Policy.from_mapping(self.default_policy_data)
        if default_policy is not None:
            self.default_policy_data = None  # given as an object: no file content to show
        super().__init__(env)
        self.reports = ReportIntake(self, self._apply)
        self.follower = Follower(
            self, self._consume, reflects=UPSTREAMS, rebuild=self._rebuild_facts
        )
        self._rebuild_facts()

    def ingest(
        self, reports: Sequence[Report], context: Mapping[str, Any] | None = None
    ) -> list[dict]:
        """Adopt scoring policies (policy.adopted), answering per report."""
        return self.reports.ingest(reports, context)

    # Consuming upstream events ----------------------------------------------------------

    def _rebuild_facts(self) -> None:
        """The facts and ledgers as the store holds them: the facts keep no event in memory,
        they read them back from the ledgers when a ranking asks (Facts' history)."""
        self.facts = Facts(history=self._applied)
        self.ledgers = {upstream: self._replay_ledger(upstream) for upstream in UPSTREAMS}

    def _replay_ledger(self, upstream: str) -> Ledger:
        """Rebuild the facts from what was consumed, in one pass over the ledger."""
        ledger: Ledger | None = None
        for entry in self._ledger_events(upstream):
            ledger = entry.mutate(ledger)  # Ledger.Opened or .Received
            for wire in getattr(entry, "events", ()):
                self.facts.apply(upstream, wire)
        return ledger or Ledger(upstream=upstream)

    def _ledger_events(self, upstream: str) -> Iterator[AggregateEvent]:
        """An upstream's ledger as stored, LEDGER_PAGE of its events at a time."""
        ledger_id, version = ids.named_id("ledger", upstream), 0
        while page := list(self.events.get(ledger_id, gt=version, limit=LEDGER_PAGE)):
            yield from cast(list[AggregateEvent], page)
            version = page[-1].originator_version

    def _applied(self) -> Iterator[Entry]:
        """Every event the facts were made of, in notification order per upstream."""
        for upstream in UPSTREAMS:
            for received in self._ledger_events(upstream):
                for wire in getattr(received, "events", ()):
                    entry = read_entry(upstream, wire["notification_id"], wire)
                    if entry is not None:
                        yield entry

    def _consume(self, upstream: str, events: list[dict], tracking: Tracking) -> None:
        ledger = self.ledgers[upstream]
        if events:
            ledger.receive(last=tracking.notification_id, events=events)
        self.record_tracked(tracking, ledger)  # if it fails, the follower rebuilds the facts
        for wire in events:
            self.facts.apply(upstream, wire)

    def _apply(self, report: Report, batch: Batch, context: Mapping[str, Any]) -> None:
        """policy.adopted here; the office's follow-up and rewards in services/scoring/office.py."""
        if report.type in OFFICE_TYPES:
            self.apply_office_report(report, batch)
        else:
            self._adopt_policy(report, batch, context)

    # Policy (policy.adopted, from the office only) --------------------------------------

    def _adopt_policy(self, report: Report, batch: Batch, context: Mapping[str, Any]) -> None:
        if report.source != "office":
            raise RuleBroken(
                "source",
                report.source,
                "office_only",
                "只有省招商引资工作领导小组办公室可以发布评分政策",
                "only the office (领导小组办公室) adopts a scoring policy",
            )
        payload = cast(PolicyAdopted, report.payload)
        try:
            policy = Policy.from_mapping(payload["policy"])
        except PolicyError as error:
            raise RuleBroken(
                f"payload.policy.{error.field}",
                error.value,
                error.rule,
                f"评分政策无效：{error}",
                f"the policy is invalid: {error}",
            ) from None
        version = payload["version"]
        if policy.version != version:
            raise RuleBroken(
                "payload.version",
                version,
                "version_matches_policy",
                f"payload.version {version} 与政策内容中的 version {policy.version} 不一致",
                f"payload.version {version} differs from the policy's own {policy.version}",
            )
        book = batch.get(PolicyBook.create_id()) or PolicyBook()
        known = self._policy_data(version, book)
        if known is not None and known != payload["policy"]:
            raise RuleBroken(
                "payload.version",
                version,
                "version_unique",
                f"评分政策版本 {version} 已有不同的内容；新内容请使用新的版本号",
                f"policy version {version} already names other content; use a new version",
            )
        book.adopt(
            event_id=str(report.event_id),
            source=report.source,
            occurred_on=report.occurred_on,
            version=version,
            effective_from=payload["effective_from"],
            policy=dict(payload["policy"]),
        )
        batch.add(book)

    def _book(self) -> PolicyBook | None:
        try:
            return self.repository.get(PolicyBook.create_id())
        except AggregateNotFoundError:
            return None

    def _policy_data(self, version: str, book: PolicyBook | None) -> Mapping | None:
        """The content adopted under a version (the default policy's own included)."""
        adoption = book.adopted_as(version) if book is not None else None
        if adoption is not None:
            return adoption.policy
        if version == self.default_policy.version:
            return self.default_policy_data
        return self.past_policies.get(version)

    def policy_for(self, quarter: str, recorded_by: datetime | None = None) -> Policy:
        """The latest policy adopted for this quarter or an earlier one (with `recorded_by`:
        among those adopted by then); else the default."""
        book = self._book()
        adoption = book.in_force(quarter, recorded_by) if book is not None else None
        return self.default_policy if adoption is None else Policy.from_mapping(adoption.policy)

    def policy_named(self, version: str) -> Policy:
        """The policy a ranking names: every past ranking keeps the policy it was made under."""
        if version == self.default_policy.version:
            return self.default_policy
        book = self._book()
        adoption = book.adopted_as(version) if book is not None else None
        if adoption is not None:
            return Policy.from_mapping(adoption.policy)
        if version in self.past_policies:
            return Policy.from_mapping(self.past_policies[version])
        raise ScoringError("policy_version", version, "known_policy", "never adopted")

    # Rankings ---------------------------------------------------------------------------

    @cached_property
    def units(self) -> Units:
        return Units.from_reference(self.ref)

    def ranking(self, quarter: str, view: str = OFFICIAL) -> RankingAnswer:
        """The ranking from everything consumed so far (not published)."""
        with self.follower.up_to_date():
            content = rank(self.facts, self.policy_for(quarter), quarter, self.units, view)
            ranking = with_positions(content, self._positions())
        return {**ranking, "published": False}

    def _positions(self) -> dict[str, int]:
        return {upstream: self.follower.position(upstream) for upstream in UPSTREAMS}

    def published(self, quarter: str) -> RankingAnswer | None:
        try:
            publication: PublishedRanking = self.repository.get(ids.named_id("ranking", quarter))
        except AggregateNotFoundError:
            return None
        return {**publication.ranking, "hash": publication.hash, "published": True}

    def get_ranking(self, quarter: str, view: str = OFFICIAL) -> RankingAnswer:
        return (view == OFFICIAL and self.published(quarter)) or self.ranking(quarter, view)

    def get_scorecard(self, quarter: str, region: str, view: str = OFFICIAL) -> Scorecard | None:
        """One 市州's quarter (its row of the ranking), with the reports about it that came too
        late for the ranking: after its close or, once published, after the publication."""
        ranking = self.get_ranking(quarter, view)
        row = next((r for r in ranking["rows"] if r["region"] == region), None)
        if row is None:
            return None
        late = ranking["late"]
        if ranking["published"]:  # and what came after it
            with self.follower.up_to_date():
                late = late + self.facts.late(quarter, after=ranking["as_of"])
        late = [entry for entry in late if entry["region"] == region]

        def rows_of(q: str) -> dict[str, Mapping]:
            rows = ranking["rows"] if q == quarter else self.get_ranking(q, view)["rows"]
            return {r["region"]: r for r in rows}

        with self.follower.up_to_date():
            targets = target_progress(self.facts, region, quarter, rows_of)
        return {
            "quarter": quarter,
            "policy_version": ranking["policy_version"],
            "published": ranking["published"],
            "hash": ranking["hash"],
            "official": ranking["official"],
            "cut_off": ranking["cut_off"],
            "recorded_by": ranking["recorded_by"],
            "row": row,
            "summoned": region in ranking["summons"],
            "late": late,
            "targets": targets,
        }

    def publish_ranking(self, quarter: str) -> RankingAnswer:
        """The office publishes the quarter's official ranking (十九); once per quarter."""
        if (existing := self.published(quarter)) is not None:
            return existing
        ranking = self.ranking(quarter, OFFICIAL)
        # What the hash was taken of: the ranking less its hash and this answer's flag.
        content = cast(
            HashedContent, {k: v for k, v in ranking.items() if k not in ("hash", "published")}
        )
        self.save(
            PublishedRanking(
                event_id=str(ids.named_id("published", ranking["hash"])),
                source="office",
                quarter=quarter,
                ranking=content,
                hash=ranking["hash"],
                policy_version=content["policy_version"],
                as_of=content["as_of"],
                occurred_on=datetime.now(SHANGHAI).date(),
                open_commitments=self.open_commitments(),
            )
        )
        return {**content, "hash": ranking["hash"], "published": True}

    # Rebuilding from the upstream logs (Audit) -------------------------------------------

    def rebuild_ranking(
        self, quarter: str, reads: Mapping[str, Read], as_of: datetime | None = None
    ) -> Rebuild:
        """A quarter's ranking rebuilt from position 1 of registry's and tracking's own logs.

        Without `as_of`: the published ranking, from the events up to the positions it was
        made from, under the policy it names; its hash must be the published one. With
        `as_of`: the official ranking from only the events recorded by that moment, under the
        policy in force then, and what differs from today's view.
        """
        published = self.published(quarter)
        stops: Mapping[str, int | None]
        if as_of is None:
            if published is None:
                raise ScoringError("quarter", quarter, "published", "no ranking published yet")
            stops = published["as_of"]
            policy = self.policy_named(published["policy_version"])
        else:
            stops = dict.fromkeys(UPSTREAMS)
            policy = self.policy_for(quarter, as_of)
        replayed = Replay(as_of).feed(b for u in UPSTREAMS for b in read_log(reads[u], stops[u]))
        content = rank(replayed.facts, policy, quarter, self.units, as_of=as_of)
        rebuilt = with_positions(content, replayed.positions)
        today = self.get_ranking(quarter)
        matches = None if as_of or published is None else rebuilt["hash"] == published["hash"]
        return {
            "quarter": quarter,
            "as_of": None if as_of is None else as_of.isoformat(),
            "rebuilt": rebuilt,
            "today": today,
            "differences": differences(rebuilt, today),
            "matches_published": matches,
            "policy": self._policy_data(policy.version, self._book()),
            "events_read": replayed.read,
        }
