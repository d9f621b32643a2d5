"""The 市州's leaders (二十一): appointed at the start of the quarter, travelling out of the
province to meet investors. The major project each plans is chosen among the projects
(tools/demo/projects.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tools.demo.cast import (
    COUNTRIES,
    DESTINATIONS,
    DOMESTIC_TRIP_SHARE,
    GIVEN,
    INVESTORS,
    SURNAMES,
    YEARLY_TRIPS,
    Profile,
)
from tools.demo.quarter import Quarter


@dataclass(frozen=True)
class Leader:
    leader_id: str
    name: str
    unit: str
    role: str
    appointed_on: date


class Leaders:
    """Every 市州's leaders; no two people of the demo share a name."""

    def __init__(self, quarter: Quarter):
        self.q = quarter
        self.people: set[str] = set()

    def appoint(self, unit: str, profile: Profile) -> list[Leader]:
        """The principal, the investment lead and the others, in that order."""
        q = self.q
        roles = [("principal", "principal"), ("lead", "investment_lead")]
        roles += [(f"other-{n}", "other") for n in range(1, profile.others + 1)]
        leaders = []
        for suffix, role in roles:
            name = self.person_name()
            day = q.start + timedelta(days=q.rng.randint(0, 2))
            leader = Leader(f"{unit}-{suffix}", name, unit, role, day)
            payload = {
                "leader_id": leader.leader_id,
                "name": leader.name,
                "unit": unit,
                "role": role,
            }
            q.emit("leader.appointed", f"pref:{unit}", day, payload, leader.leader_id)
            leaders.append(leader)
        return leaders

    def person_name(self) -> str:
        rng = self.q.rng
        while True:
            given = rng.sample(GIVEN, rng.choice((1, 2)))
            name = rng.choice(SURNAMES) + "".join(given)
            if name not in self.people:
                self.people.add(name)
                return name

    def trips(self, leaders: list[Leader], count: int) -> None:
        """`count` trips, drawn in proportion to each leader's yearly quota (二十一)."""
        q = self.q
        chosen = q.rng.choices(leaders, [YEARLY_TRIPS[x.role] for x in leaders], k=count)
        first = q.start + timedelta(days=4)  # after every appointment
        for leader in leaders:
            n = chosen.count(leader)
            slot = (q.end - first).days // max(n, 1)  # one trip per slot: none overlap
            for i in range(n):
                departed = first + timedelta(days=i * slot + q.rng.randint(0, slot - 6))
                returned = departed + timedelta(days=q.rng.randint(1, 4))
                self.trip(leader, departed, returned, i)

    def trip(self, leader: Leader, departed: date, returned: date, n: int) -> None:
        rng = self.q.rng
        abroad = rng.random() > DOMESTIC_TRIP_SHARE
        places = [d for d in DESTINATIONS if (d[0] in COUNTRIES) == abroad]
        destination, companies = rng.choice(places)
        met = rng.sample(companies, min(len(companies), rng.randint(1, 3)))
        payload = {
            "leader_id": leader.leader_id,
            "destination": destination,
            "departed_on": departed.isoformat(),
            "returned_on": returned.isoformat(),
            "companies_met": [INVESTORS[key].name for key in met],
        }
        self.q.emit(
            "leader.trip_completed",
            f"pref:{leader.unit}",
            returned,
            payload,
            f"{leader.leader_id}/{n}",
        )
