"""Many valid v1 reports of one quarter, fast and deterministic.

About ten reports per project, from all 17 市州 and the office, in publication order: each 市州
appoints its leaders, then its projects move along the lists (二) and through the milestones
(十九) day by day, the office verifying most milestones a few days after each report, and the
leaders travelling ((二十一)). Every report is accepted by a system that has seen the ones before
it, so resending any prefix gives "duplicate" and the rest "accepted".
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID, uuid5

from services.kernel.contract.calendar import quarter_bounds
from services.kernel.contract.vocabulary import OWNER
from services.kernel.reference import Reference, reference
from tools.demo.cast import DESTINATIONS, INVESTORS, OPENED_NOT_BUILT, TEMPLATES, YEARLY_TRIPS
from tools.demo.wire import CENT, amount, credit_code, envelope

# Fixed: changing it would change every event id, and a re-run would no longer be a resend.
NAMESPACE = UUID("5d0c1b8e-8f53-5b7e-9c61-3a2f0e7d4b90")
OFFICE = "office"
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


@dataclass
class _Project:
    code: str
    prefecture: str
    region: str
    total: Decimal


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
        return day, self.counter, envelope(event_id, kind, source, day, payload)

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
                    "total_investment": amount(total),
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
            "contract_investment": amount((total * share).quantize(CENT)),
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
            arrived = {"project_code": project.code}
            arrived["amount"] = amount(max((project.total * share).quantize(CENT), CENT))
            key = f"{project.code}/{n}"
            items += self.milestone("project.capital_arrived", project, day, arrived, key, True)
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
