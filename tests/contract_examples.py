"""Valid reports of every type of contract v1, for the contract's tests: `raw_report(type,
**payload_overrides)` is one as a sending system sends it; `rejection` and `the_error` say how
one is refused (validated on TODAY)."""

from __future__ import annotations

import copy
import uuid
from datetime import date
from typing import Any

import pytest

from services.kernel.contract.errors import FieldError, ReportInvalid
from services.kernel.contract.report import validate_report

TODAY = date(2020, 9, 15)
HUAWEI_CREDIT_CODE = "914403001922038216"  # 华为技术有限公司, a published code
WUHAN, JIANG_AN = "420100", "420102"  # 武汉市 and its county-level 江岸区

VALID_PAYLOADS: dict[str, dict[str, Any]] = {
    "project.proposed": {
        "project_code": "WH-2020-001",
        "name": "长江存储二期",
        "investor": {
            "name": "紫光集团",
            "origin": "CN-11",
            "fortune_global_500": False,
            "china_top_500": True,
        },
        "industry": "integrated_circuit",
        "region": JIANG_AN,
        "total_investment": "25.5",
        "categories": ["new_infrastructure"],
        "channel": "platform_event",
    },
    "project.tracking_started": {"project_code": "WH-2020-001"},
    "project.signed": {"project_code": "WH-2020-001", "contract_investment": "24"},
    "project.assigned": {
        "project_code": "WH-2020-001",
        "leader": "张三",
        "task_force": "长江存储二期专班",
        "plan": "一月完成用地，三月开工",
    },
    "project.corrected": {
        "project_code": "WH-2020-001",
        "changes": {"total_investment": "30", "region": WUHAN},
        "reason": "投资额核实后调整",
    },
    "project.withdrawn": {"project_code": "WH-2020-001", "reason": "投资方撤资"},
    "project.designated": {"project_code": "WH-2020-001", "unit": WUHAN},
    "project.undesignated": {
        "project_code": "WH-2020-001",
        "unit": WUHAN,
        "reason": "调整本地重点项目清单",
    },
    "project.company_registered": {
        "project_code": "WH-2020-001",
        "credit_code": HUAWEI_CREDIT_CODE,
        "company_name": "长江存储二期有限公司",
    },
    "project.construction_started": {"project_code": "WH-2020-001", "kind": "construction"},
    "project.production_started": {"project_code": "WH-2020-001"},
    "project.capital_arrived": {"project_code": "WH-2020-001", "amount": "3.25"},
    "milestone.retracted": {
        "milestone_event_id": "0b6e3c1e-5f1a-4c55-9a43-2d8f1f7b9a10",
        "reason": "重复报送",
    },
    "milestone.verified": {"milestone_event_id": "0b6e3c1e-5f1a-4c55-9a43-2d8f1f7b9a10"},
    "milestone.rejected": {
        "milestone_event_id": "0b6e3c1e-5f1a-4c55-9a43-2d8f1f7b9a10",
        "reason": "到资凭证不全",
    },
    "leader.appointed": {
        "leader_id": "wuhan-mayor",
        "name": "李四",
        "unit": WUHAN,
        "role": "principal",
    },
    "leader.trip_completed": {
        "leader_id": "wuhan-mayor",
        "destination": "广东省深圳市",
        "departed_on": "2020-09-01",
        "returned_on": "2020-09-03",
        "companies_met": ["华为技术有限公司", "腾讯科技（深圳）有限公司"],
    },
    "promotion.event_held": {
        "unit": WUHAN,
        "target_region": "greater_bay_area",
        "title": "2020 武汉—粤港澳大湾区招商推介会",
    },
    "task.completed": {"task_id": "set_up_leading_group", "unit": JIANG_AN},
    "matter.progress_reported": {
        "matter_id": "guangdong-01",
        "unit": "dept:fagai",
        "progress": "已召开专题协调会",
        "status": "in_progress",
    },
    "report.verified": {
        "report_event_id": "7d6f4b1c-2d7e-4c1a-9f55-3a1e6f0c9b21",
        "leader_id": "wuhan-mayor",
    },
    "report.rejected": {
        "report_event_id": "7d6f4b1c-2d7e-4c1a-9f55-3a1e6f0c9b22",
        "unit": "420100",
        "reason": "活动未在粤港澳大湾区举办",
    },
    "target.set": {
        "unit": "420100",
        "year": "2020",
        "indicator": "capital_arrived",
        "yearly": "120",
        "quarterly": ["20", "30", "30", "40"],
    },
    "summons.held": {
        "unit": "420500",
        "quarter": "2020Q2",
        "held_on": "2020-07-20",
        "attendees": ["宜昌市人民政府副市长", "宜昌市商务局局长"],
        "commitments": [
            {"key": "c1", "text": "三季度新增亿元以上项目注册 5 个", "due": "2020-09-30"}
        ],
    },
    "rectification.reported": {
        "unit": "420500",
        "summons_event_id": "7d6f4b1c-2d7e-4c1a-9f55-3a1e6f0c9b23",
        "progress": [{"commitment": "c1", "status": "in_progress", "text": "已注册 3 个"}],
    },
    "reward.decided": {
        "year": "2020",
        "rewards": [{"unit": "420100", "reward_class": "一类一档"}],
        "basis": "经省财政厅会商，按产业基础分类分档",
    },
    "policy.adopted": {
        "version": "2020.1",
        "effective_from": "2020Q3",
        "policy": {"weights": {"registrations": 15, "capital": 25}, "summons_bottom": 3},
    },
}


def raw_report(type: str, **payload_overrides: Any) -> dict[str, Any]:
    """A valid raw report of `type`; keyword arguments replace payload fields."""
    payload = {**copy.deepcopy(VALID_PAYLOADS[type]), **payload_overrides}
    return {
        "event_id": str(uuid.uuid4()),
        "type": type,
        "source": "pref:420100",
        "occurred_on": "2020-09-10",
        "schema_version": 1,
        "payload": payload,
    }


def rejection(raw: Any) -> list[FieldError]:
    with pytest.raises(ReportInvalid) as caught:
        validate_report(raw, today=TODAY)
    return caught.value.errors


def the_error(raw: Any) -> FieldError:
    """The one error `raw` is refused with; its Chinese message names the field and the value."""
    errors = rejection(raw)
    assert len(errors) == 1, errors
    found = errors[0]
    assert found.field in found.message_zh
    assert found.value in found.message_zh
    assert found.field in found.message_en
    return found
