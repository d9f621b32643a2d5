"""Load for the fault tests and the benchmarks: many valid v1 reports, fast and deterministic.

`generate_load(n, seed)` returns `n` raw reports (docs/CONTRACT.md) for one quarter, about ten per
project, from all 17 市州 (`pref:<code>`, the 市州 of the project's region) and the office
(`office`, its checks of milestones), in publication order: each 市州 appoints its leaders, then
its projects move along the lists (二) and through the milestones (十九) day by day — proposed,
tracking started, signed, company registered, construction started, production started, capital
arriving in tranches — the office verifying most milestones a few days after each report, and
the leaders travelling ((二十一)). Every report is accepted by a system that has seen the ones
before it, so resending any prefix gives "duplicate" and the rest "accepted".

The same (n, seed, quarter) gives the same reports with the same event ids; different seeds give
different project codes and event ids, so two loads never collide in one system.
`sender_streams` splits a load over a few concurrent senders, and `Sender` sends it as the
prefecture systems and the office would: in batches of one source over gRPC, each with its
source's API key, resending a batch with the same event ids until it is answered.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from services.kernel.contract.contracts import OWNER
from services.kernel.reference.reference import Reference, reference
from tools.demo import (
    DESTINATIONS,
    INVESTORS,
    OPENED_NOT_BUILT,
    TEMPLATES,
    YEARLY_TRIPS,
    credit_code,
    quarter_bounds,
)
from zhaoshang.client import event_to_proto, outcome_from_proto

# Fixed: changing it would change every event id, and a re-run would no longer be a resend.
NAMESPACE = UUID("5d0c1b8e-8f53-5b7e-9c61-3a2f0e7d4b90")
OFFICE = "office"
CENT = Decimal("0.01")
VERIFIED_SHARE = 0.9  # the office checks most milestones
REJECTED_SHARE = 0.03  # of capital arrivals: not the investor's capital (a loan)
RETRACTED_SHARE = 0.01  # of capital arrivals: taken back by the 市州 that sent them, unchecked
TRANCHES = (2, 5)  # capital arrivals per registered project
CHANNELS = ("park", "platform_event", "commissioned", "finance", "other")
# How active each 市州 is (share of the projects) and how fast its projects move (二)(十九).
ACTIVITY = {
    "420100": (10, 0.9),  # 武汉市
    "420200": (4, 0.7),  # 黄石市
    "420300": (4, 0.65),  # 十堰市
    "420500": (7, 0.85),  # 宜昌市
    "420600": (7, 0.85),  # 襄阳市
    "420700": (3, 0.8),  # 鄂州市
    "420800": (5, 0.75),  # 荆门市
    "420900": (5, 0.7),  # 孝感市
    "421000": (5, 0.65),  # 荆州市
    "421100": (5, 0.6),  # 黄冈市
    "421200": (4, 0.6),  # 咸宁市
    "421300": (3, 0.6),  # 随州市
    "422800": (3, 0.6),  # 恩施土家族苗族自治州
    "429004": (3, 0.7),  # 仙桃市
    "429005": (2, 0.6),  # 潜江市
    "429006": (2, 0.55),  # 天门市
    "429021": (1, 0.8),  # 神农架林区
}


def generate_load(n_reports: int, seed: int, quarter: str = "2020Q3") -> list[dict]:
    """`n_reports` raw reports of one quarter, in publication order."""
    return _Load(quarter, seed, reference()).run(n_reports)


def by_source(reports: Sequence[dict]) -> dict[str, list[dict]]:
    """Each sending system's reports, in the order given (a batch comes from one source)."""
    out: dict[str, list[dict]] = {}
    for report in reports:
        out.setdefault(report["source"], []).append(report)
    return out


def sender_streams(
    reports: Sequence[dict], count: int, office: int = 2, by_subject: bool = False
) -> list[dict[str, list[dict]]]:
    """The load split over `count` concurrent prefecture senders, balanced by the 市州's
    activity, and `office` senders of the office's checks (the office's system runs beside the
    市州's, checking what they reported). Each sender's streams are named after their source
    (the office's `office/<n>`) and keep the order given.

    `by_subject`: a 市州's reports are spread over the senders by what they are about (a
    project, a leader), as many systems of one 市州 (its counties', its departments') would
    send them; the reports about one subject stay in order in one stream.
    """
    load = [0] * count
    sender_of: dict[str, int] = {}
    for code in sorted(ACTIVITY, key=lambda c: (-ACTIVITY[c][0], c)):
        sender_of[f"pref:{code}"] = lightest = load.index(min(load))
        load[lightest] += ACTIVITY[code][0]
    sent = [0] * count
    group_of_event: dict[str, int] = {}
    out: list[dict[str, list[dict]]] = [{} for _ in range(count + office)]
    for report in reports:
        if report["source"] == OFFICE:
            n = group_of_event[report["payload"]["milestone_event_id"]] % office
            out[count + n].setdefault(f"{OFFICE}/{n}", []).append(report)
            continue
        if by_subject:
            subject = f"{report['source']}/{_subject(report)}"
            if subject not in sender_of:
                sender_of[subject] = sent.index(min(sent))
            sender = sender_of[subject]
        else:
            sender = sender_of[report["source"]]
        sent[sender] += 1
        group_of_event[report["event_id"]] = sender
        out[sender].setdefault(report["source"], []).append(report)
    return [streams for streams in out if streams]


def _subject(report: Mapping[str, Any]) -> str:
    payload = report["payload"]
    return str(
        payload.get("project_code") or payload.get("leader_id") or payload.get("unit") or ""
    )


@dataclass
class _Project:
    code: str
    prefecture: str
    region: str
    total: Decimal
    reports: list[tuple[date, int, dict]] = field(default_factory=list)


class _Load:
    def __init__(self, quarter: str, seed: int, ref: Reference):
        if set(ACTIVITY) != {p.code for p in ref.prefectures}:
            raise ValueError("the load generator is out of step with the reference data")
        self.quarter, self.seed, self.ref = quarter, seed, ref
        self.start, self.end = quarter_bounds(quarter)
        self.rng = random.Random(f"load:{seed}:{quarter}")
        self.counter = 0
        self.counties = {code: ref.counties_of(code) for code in ACTIVITY}

    def run(self, n_reports: int) -> list[dict]:
        # (day, owner rank, sequence, report): by day; within a day registry's reports first.
        out: list[tuple[date, int, int, dict]] = []
        for items in itertools.chain([self.leaders()], self.projects()):
            for day, seq, report in items[: n_reports - len(out)]:
                out.append((day, 0 if OWNER[report["type"]] == "registry" else 1, seq, report))
            if len(out) >= n_reports:
                break
        return [report for *_, report in sorted(out, key=lambda item: item[:3])]

    def emit(self, kind: str, source: str, day: date, payload: dict, key: str) -> tuple:
        self.counter += 1
        event_id = uuid5(NAMESPACE, f"{self.seed}:{self.quarter}:{kind}:{key}")
        report = {
            "event_id": str(event_id),
            "type": kind,
            "source": source,
            "occurred_on": day.isoformat(),
            "schema_version": 1,
            "payload": payload,
        }
        return day, self.counter, report

    # Leaders and their trips (二十一) -----------------------------------------------------

    def leaders(self) -> list[tuple]:
        items = []
        for unit in ACTIVITY:
            source = f"pref:{unit}"
            roles = (("principal", "principal"), ("lead", "investment_lead"), ("other", "other"))
            for suffix, role in roles:
                leader_id = f"{unit}-L{self.seed}-{suffix}"
                payload = {"leader_id": leader_id, "name": f"领导{unit}{suffix}", "unit": unit}
                payload["role"] = role
                items.append(self.emit("leader.appointed", source, self.start, payload, leader_id))
                day = self.start + timedelta(days=3)
                for n in range(self.rng.randint(0, YEARLY_TRIPS[role] // 2)):
                    departed = day + timedelta(days=self.rng.randint(1, 20))
                    day = departed + timedelta(days=self.rng.randint(1, 4))
                    if day > self.end:
                        break
                    destination, companies = self.rng.choice(DESTINATIONS)
                    trip = {
                        "leader_id": leader_id,
                        "destination": destination,
                        "departed_on": departed.isoformat(),
                        "returned_on": day.isoformat(),
                        "companies_met": [INVESTORS[companies[0]].name],
                    }
                    key = f"{leader_id}/{n}"
                    items.append(self.emit("leader.trip_completed", source, day, trip, key))
        return items

    # Projects (二) and milestones (十九) ----------------------------------------------------

    def projects(self):
        """Projects forever, each a list of its reports in causal order."""
        units = list(ACTIVITY)
        weights = [ACTIVITY[u][0] for u in units]
        number = 0
        while True:
            number += 1
            prefecture = self.rng.choices(units, weights)[0]
            yield self.project(f"{prefecture}-L{self.seed}-{number:06d}", prefecture)

    def project(self, code: str, prefecture: str) -> list[tuple]:
        rng = self.rng
        template = rng.choice(TEMPLATES)
        counties = self.counties[prefecture]
        region = rng.choice(counties).code if counties and rng.random() < 0.7 else prefecture
        low, high = (int(Decimal(x) * 10) for x in (template.low, template.high))
        total = Decimal(rng.randint(low, high)) / 10
        investor = rng.choice(template.investors)
        project = _Project(code, prefecture, region, total)
        source = f"pref:{prefecture}"
        categories = list(template.categories)
        if INVESTORS[investor].origin[:3] != "CN-":
            categories.append("foreign_investment")
        if rng.random() < 0.6:
            proposed = max(self.start - timedelta(days=rng.randint(1, 150)), date(2020, 1, 1))
        else:
            proposed = self.start + timedelta(days=rng.randint(0, 40))
        items = [
            self.emit(
                "project.proposed",
                source,
                proposed,
                {
                    "project_code": code,
                    "name": f"{self.ref.region(region).name}{template.stem}项目{code[-6:]}",
                    "investor": INVESTORS[investor].payload(),
                    "industry": template.industry,
                    "region": region,
                    "total_investment": _amount(total),
                    "categories": categories,
                    "channel": rng.choice(CHANNELS),
                },
                code,
            )
        ]
        pace = ACTIVITY[prefecture][1]
        day = max(proposed, self.start)
        day += timedelta(days=rng.randint(1, 8))
        if day > self.end:
            return items
        items.append(
            self.emit("project.tracking_started", source, day, {"project_code": code}, code)
        )
        day += timedelta(days=rng.randint(1, 8))
        if day > self.end or rng.random() > pace:
            return items
        share = Decimal(rng.randint(80, 100)) / 100
        signed = {
            "project_code": code,
            "contract_investment": _amount((total * share).quantize(CENT)),
        }
        items.append(self.emit("project.signed", source, day, signed, code))
        day += timedelta(days=rng.randint(1, 6))
        if day > self.end or rng.random() > pace:
            return items
        company = {
            "project_code": code,
            "credit_code": credit_code(region, rng),
            "company_name": f"{INVESTORS[investor].brand}{code}{template.business}有限公司",
        }
        items += self.milestone("project.company_registered", project, day, company, code)
        items += self.capital(project, day)
        day += timedelta(days=rng.randint(1, 8))
        if day > self.end or rng.random() > pace:
            return items
        kind = "opening" if template.stem in OPENED_NOT_BUILT else "construction"
        started = {"project_code": code, "kind": kind}
        items += self.milestone("project.construction_started", project, day, started, code)
        day += timedelta(days=rng.randint(3, 15))
        if day > self.end or rng.random() > pace:
            return items
        produced = {"project_code": code}
        items += self.milestone("project.production_started", project, day, produced, code)
        return items

    def capital(self, project: _Project, registered_on: date) -> list[tuple]:
        items: list[tuple] = []
        day = registered_on
        for n in range(self.rng.randint(*TRANCHES)):
            day += timedelta(days=self.rng.randint(2, 10))
            if day > self.end:
                break
            share = Decimal(self.rng.randint(3, 15)) / 100
            amount = {"project_code": project.code}
            amount["amount"] = _amount(max((project.total * share).quantize(CENT), CENT))
            key = f"{project.code}/{n}"
            items += self.milestone("project.capital_arrived", project, day, amount, key, True)
        return items

    def milestone(
        self, kind: str, project: _Project, day: date, payload: dict, key: str, amend: bool = False
    ) -> list[tuple]:
        """A milestone and the office's check of it; with `amend`, some are rejected by the
        office or taken back by the 市州 before any check (capital arrivals only: nothing later
        depends on them)."""
        source = f"pref:{project.prefecture}"
        reported = self.emit(kind, source, day, payload, key)
        items = [reported]
        event_id = reported[2]["event_id"]
        checked_on = day + timedelta(days=self.rng.randint(1, 5))
        draw = self.rng.random()
        if checked_on > self.end:
            return items
        if amend and draw < REJECTED_SHARE:
            check = {"milestone_event_id": event_id, "reason": "到资凭证为银行贷款，不予认定"}
            items.append(self.emit("milestone.rejected", OFFICE, checked_on, check, event_id))
        elif amend and draw < REJECTED_SHARE + RETRACTED_SHARE:
            taken_back = {"milestone_event_id": event_id, "reason": "经复核，到资未实际到账"}
            items.append(self.emit("milestone.retracted", source, checked_on, taken_back, event_id))
        elif draw < VERIFIED_SHARE:
            check = {"milestone_event_id": event_id}
            items.append(self.emit("milestone.verified", OFFICE, checked_on, check, event_id))
        return items


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f")


# Sending ------------------------------------------------------------------------------------

# What a sender does about a batch that got no outcomes: no answer in time, or the gateway
# saying it could not reach a service, means "try again later" with the same events.
RETRYABLE = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED"})
API_KEY_HEADER = "x-api-key"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class Answered:
    """The event ids some sender has had answered "accepted" or "duplicate": the office checks
    only milestones it has seen reported."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def add(self, outcomes: Sequence[dict]) -> None:
        with self._lock:
            self._ids.update(
                o["event_id"] for o in outcomes if o["status"] in ("accepted", "duplicate")
            )

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)


@dataclass
class SendLog:
    """What one sender heard: every outcome of every attempt, and every failed attempt."""

    answers: list[dict] = field(default_factory=list)  # outcomes, in the order heard
    failures: list[tuple[float, str, str]] = field(default_factory=list)  # (when, code, detail)
    resent: list[list[dict]] = field(default_factory=list)  # batches that needed another try
    calls: list[tuple[float, float, int]] = field(default_factory=list)  # (sent, answered, n)
    gave_up: list[list[dict]] = field(default_factory=list)  # batches never answered


def channel(target: str) -> Any:
    import grpc

    options = [
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ]
    return grpc.insecure_channel(target, options=options)


def metadata(keys: Mapping[str, str] | None, source: str) -> list[tuple[str, str]] | None:
    return None if keys is None else [(API_KEY_HEADER, keys[source])]


class Sender(threading.Thread):
    """Sending systems publishing over gRPC, one call at a time: batches of at most `batch`
    reports of one source, taken in turn from each of `streams`. A batch that got no outcomes
    is sent again, same event ids, until it is answered (or `give_up_at`, a monotonic time).
    A report that names another (`milestone_event_id`) waits until that one was answered."""

    def __init__(
        self,
        target: str,
        streams: Mapping[str, Sequence[dict]],
        keys: Mapping[str, str] | None = None,
        answered: Answered | None = None,
        batch: int = 500,
        timeout: float = 60.0,
        pause: float = 0.5,
        give_up_at: float | None = None,
    ):
        super().__init__(daemon=True)
        self.target, self.streams, self.keys = target, streams, keys
        self.answered = answered if answered is not None else Answered()
        self.batch, self.timeout, self.pause, self.give_up_at = batch, timeout, pause, give_up_at
        self.log = SendLog()

    def run(self) -> None:
        from zhaoshang.api import zhaoshang_pb2 as pb
        from zhaoshang.api import zhaoshang_pb2_grpc as pb_grpc

        with channel(self.target) as grpc_channel:
            stub = pb_grpc.IngestStub(grpc_channel)
            positions = dict.fromkeys(self.streams, 0)
            while positions:
                sent = False
                for name in list(positions):
                    batch = self._next_batch(name, positions[name])
                    if not batch:
                        continue
                    request = pb.PublishRequest(events=[event_to_proto(e) for e in batch])
                    if not self._send(
                        stub, request, batch, metadata(self.keys, batch[0]["source"])
                    ):
                        return
                    sent = True
                    positions[name] += len(batch)
                    if positions[name] == len(self.streams[name]):
                        del positions[name]
                if not sent:
                    time.sleep(0.01)  # the office waits for the milestones it checks

    def _next_batch(self, name: str, start: int) -> list[dict]:
        """The next reports of stream `name` up to the first whose reference (the milestone
        it checks) has not been answered yet."""
        batch = []
        for report in self.streams[name][start : start + self.batch]:
            referenced = report["payload"].get("milestone_event_id")
            if referenced is not None and referenced not in self.answered:
                break
            batch.append(report)
        return batch

    def _send(self, stub: Any, request: Any, batch: list[dict], meta: Any) -> bool:
        import grpc

        tries = 0
        while True:
            tries += 1
            sent = time.monotonic()
            try:
                response = stub.Publish(request, timeout=self.timeout, metadata=meta)
            except grpc.RpcError as error:
                self.log.failures.append((time.time(), error.code().name, error.details()))
                if self.give_up_at is not None and time.monotonic() > self.give_up_at:
                    self.log.gave_up.append(batch)
                    return False
                time.sleep(self.pause)
                continue
            outcomes = [outcome_from_proto(o) for o in response.outcomes]
            self.log.calls.append((sent, time.monotonic(), len(batch)))
            self.log.answers += outcomes
            self.answered.add(outcomes)
            if tries > 1:
                self.log.resent.append(batch)
            return True
