"""Malformed reports for the demo to show rejections: one broken rule each."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid5

from services.kernel.contract.calendar import quarter_bounds
from services.kernel.contract.fields import credit_code_check_character
from tools.demo.cast import INVESTORS
from tools.demo.quarter import NAMESPACE
from tools.demo.wire import envelope


def demo_rejects(quarter: str = "2020Q3") -> list[dict]:
    """Malformed reports, one broken rule each, that the gateway must answer "rejected"."""
    start, _ = quarter_bounds(quarter)
    day = start + timedelta(days=40)
    proposed = {
        "project_code": "420100-REJECT-1",
        "name": "武汉光谷示范项目",
        "investor": INVESTORS["huawei"].payload(),
        "industry": "next_generation_it",
        "region": "420111",
        "total_investment": "12.5",
        "categories": [],
        "channel": "park",
    }
    first17 = "91420111MA4K00001"
    wrong_check = next(c for c in "0123456789" if c != credit_code_check_character(first17))
    broken = (
        # Money as a JSON number: floats lose cents.
        ("project.proposed", {**proposed, "total_investment": 12.5}),
        # 110101 is 北京市东城区, outside Hubei.
        ("project.proposed", {**proposed, "region": "110101"}),
        (
            "project.company_registered",
            {
                "project_code": "420100-REJECT-1",
                "credit_code": first17 + wrong_check,
                "company_name": "华为（洪山）数字科技有限公司",
            },
        ),
        ("project.celebrated", {"project_code": "420100-REJECT-1"}),
        (
            "leader.trip_completed",
            {
                "leader_id": "420100-lead",
                "destination": "上海市",
                "departed_on": day.isoformat(),
                "returned_on": (day - timedelta(days=3)).isoformat(),
                "companies_met": [INVESTORS["echang"].name],
            },
        ),
    )
    return [
        envelope(uuid5(NAMESPACE, f"reject:{quarter}:{n}"), kind, "pref:420100", day, payload)
        for n, (kind, payload) in enumerate(broken)
    ]
