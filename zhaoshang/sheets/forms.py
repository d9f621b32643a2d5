"""The sheets of the 台账 template: one per report type a person may send, each a list of
columns saying which payload field a column fills, how its cells are read, and which list of
the hidden 字典 sheet its drop-down offers (docs/CONTRACT.md for the fields).

Every sheet starts with 本地编号 (the clerk's own number for the row, from which the report's
event_id is derived: importing.py) and 发生日期 (the report's occurred_on). Amounts are in 亿元
as the contract counts them; a header that says 万元 is read in 万元 (cells.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from services.kernel.reference import Reference

LOCAL_ID = "本地编号"
OCCURRED_ON = "发生日期"

# Text, code, date, amount (亿元), yes/no, one of a 字典 list, several of one (、-separated),
# several lines of text (、-separated).
KINDS = ("text", "code", "date", "amount", "flag", "choice", "choices", "lines")

# The closed vocabularies of contract v1 in the words a clerk uses.
CATEGORY_NAMES = {
    "real_estate": "房地产",
    "characteristic_town": "特色小镇",
    "ppp_urban_infrastructure": "PPP城市基础设施",
    "new_infrastructure": "新基建",
    "modern_services": "现代服务业",
    "functional_institution": "功能性机构",
    "foreign_investment": "外资",
}
CHANNEL_NAMES = {
    "alumni": "校友招商（七）",
    "chushang_return": "楚商回归（八）",
    "finance": "金融招商（九）",
    "commissioned": "委托招商（十）",
    "free_trade_zone": "自贸区招商（十一）",
    "park": "园区招商（十二）",
    "platform_event": "平台活动招商（十三）",
    "other": "其他",
}
KIND_NAMES = {"construction": "开工", "opening": "开业"}
TARGET_REGION_NAMES = {
    "greater_bay_area": "粤港澳大湾区",
    "yangtze_delta": "长三角",
    "beijing_tianjin_hebei": "京津冀",
    "other": "其他地区",
}
STATUS_NAMES = {"in_progress": "推进中", "done": "已完成"}
ROLE_NAMES = {
    "principal": "党政主要负责同志",
    "investment_lead": "分管招商负责同志",
    "other": "其他负责同志",
    "department_head": "部门主要负责同志",
    "department_other": "部门其他负责同志",
}


@dataclass(frozen=True)
class Column:
    header: str  # as in the template, with its unit
    field: str  # the payload field it fills, dotted for nested ones ("investor.name")
    kind: str = "text"  # KINDS
    required: bool = True
    dictionary: str | None = None  # the 字典 list its drop-down and its words come from
    width: int = 16
    note: str = ""

    @property
    def label(self) -> str:
        """The header without its unit: what a workbook's header is matched by."""
        return self.header.split("（")[0]


@dataclass(frozen=True)
class Form:
    sheet: str  # the sheet's name
    type: str  # the report type each row is
    columns: tuple[Column, ...]
    note: str

    def column_of(self, field: str) -> Column | None:
        """The column a contract error's field ("payload.investor.name") is about."""
        name = field.removeprefix("payload.")
        for column in self.columns:
            if name == column.field or name.startswith(column.field + "."):
                return column
        if field in ("event_id", "occurred_on"):
            return ID if field == "event_id" else DATE
        return None


ID = Column(LOCAL_ID, "event_id", "code", width=12, note="本单位自编的行号，同一表内不得重复")
DATE = Column(f"{OCCURRED_ON}（年-月-日）", "occurred_on", "date", width=14)
PROJECT = Column("项目编号", "project_code", "code", width=16)


def _form(sheet: str, type_: str, note: str, *columns: Column) -> Form:
    return Form(sheet, type_, (ID, DATE, *columns), note)


FORMS: tuple[Form, ...] = (
    _form(
        "新建项目",
        "project.proposed",
        "新谋划或推介的项目（二）：项目库的一条新记录",
        PROJECT,
        Column("项目名称", "name", width=28),
        Column("投资方名称", "investor.name", width=24),
        Column(
            "投资方来源地",
            "investor.origin",
            "code",
            width=12,
            note="国家两位字母代码（如 US、JP），国内写 CN-省级代码前两位（如 CN-44）",
        ),
        Column("世界500强（是/否）", "investor.fortune_global_500", "flag", False, "是否"),
        Column("中国500强（是/否）", "investor.china_top_500", "flag", False, "是否"),
        Column("产业", "industry", "choice", dictionary="产业", width=20),
        Column("所在地区", "region", "choice", dictionary="地区", width=18),
        Column("总投资（亿元）", "total_investment", "amount", width=14),
        Column("项目类别", "categories", "choices", False, "项目类别", 18, "可填多个，以、分隔"),
        Column("招商方式", "channel", "choice", dictionary="招商方式", width=18),
        Column("谋划领导编号", "planned_by_leader", "code", False, width=14),
    ),
    _form("转入跟踪", "project.tracking_started", "推介项目转入跟踪（二）", PROJECT),
    _form(
        "签约",
        "project.signed",
        "项目签约（二）",
        PROJECT,
        Column("合同投资额（亿元）", "contract_investment", "amount", width=16),
    ),
    _form(
        "落实五个一",
        "project.assigned",
        "重点项目落实“五个一”（二）",
        PROJECT,
        Column("牵头领导", "leader", width=14),
        Column("工作专班", "task_force", width=20),
        Column("推进方案", "plan", width=40),
    ),
    _form(
        "注册",
        "project.company_registered",
        "项目公司注册（十九）",
        PROJECT,
        Column("统一社会信用代码", "credit_code", "code", width=22),
        Column("公司名称", "company_name", width=28),
    ),
    _form(
        "开工开业",
        "project.construction_started",
        "项目开工或开业（十九）",
        PROJECT,
        Column("类型（开工/开业）", "kind", "choice", dictionary="开工开业", width=14),
    ),
    _form("投产", "project.production_started", "项目投产（十九）", PROJECT),
    _form(
        "到资",
        "project.capital_arrived",
        "实际到位资金（十九）；同日同额的两笔请分两行、用不同本地编号",
        PROJECT,
        Column("到资金额（亿元）", "amount", "amount", width=14),
    ),
    _form(
        "领导任职",
        "leader.appointed",
        "党政主职及分管领导任职（二十一）（二十二）",
        Column("领导编号", "leader_id", "code", width=14),
        Column("姓名", "name", width=12),
        Column("所在单位", "unit", "choice", dictionary="地区", width=18),
        Column("职务类别", "role", "choice", dictionary="职务类别", width=18),
    ),
    _form(
        "外出招商",
        "leader.trip_completed",
        "党政主职外出招商（二十一）（二十二）：出发、返回日期及拜访企业",
        Column("领导编号", "leader_id", "code", width=14),
        Column("目的地", "destination", width=16),
        Column("出发日期（年-月-日）", "departed_on", "date", width=14),
        Column("返回日期（年-月-日）", "returned_on", "date", width=14),
        Column("拜访企业", "companies_met", "lines", width=36, note="以、分隔"),
    ),
    _form(
        "推介活动",
        "promotion.event_held",
        "赴重点地区开展主题招商活动（三）",
        Column("市州", "unit", "choice", dictionary="市州", width=16),
        Column("目标地区", "target_region", "choice", dictionary="目标地区", width=16),
        Column("活动名称", "title", width=32),
    ),
    _form(
        "任务完成",
        "task.completed",
        "附件3 重点任务完成情况",
        Column("任务编号", "task_id", "choice", dictionary="附件3任务", width=28),
        Column("责任单位", "unit", "choice", dictionary="地区", width=18),
    ),
    _form(
        "事项进展",
        "matter.progress_reported",
        "附件4 重点事项进展",
        Column("事项编号", "matter_id", "choice", dictionary="附件4事项", width=28),
        Column("责任单位", "unit", "choice", dictionary="地区", width=18),
        Column("进展情况", "progress", width=40),
        Column("状态", "status", "choice", dictionary="事项状态", width=10),
    ),
)
BY_SHEET: Mapping[str, Form] = MappingProxyType({form.sheet: form for form in FORMS})
BY_TYPE: Mapping[str, Form] = MappingProxyType({form.type: form for form in FORMS})


def dictionaries(ref: Reference) -> dict[str, dict[str, str]]:
    """Each 字典 list: what a clerk picks or types (a word) -> the contract's value. A region is
    offered as "420100 武汉市" and read by its code or its name alike (cells.py)."""
    regions = {f"{r.code} {r.name}": r.code for r in ref.regions.values()}
    regions.update({f"dept:{k} {d.name}": f"dept:{k}" for k, d in ref.departments.items()})
    return {
        "地区": regions,
        "市州": {f"{r.code} {r.name}": r.code for r in ref.prefectures},
        "产业": {f"{i.name}": k for k, i in ref.industries.items()},
        "项目类别": {v: k for k, v in CATEGORY_NAMES.items()},
        "招商方式": {v: k for k, v in CHANNEL_NAMES.items()},
        "开工开业": {v: k for k, v in KIND_NAMES.items()},
        "目标地区": {v: k for k, v in TARGET_REGION_NAMES.items()},
        "事项状态": {v: k for k, v in STATUS_NAMES.items()},
        "职务类别": {v: k for k, v in ROLE_NAMES.items()},
        "附件3任务": {f"{k} {t.title[:40]}": k for k, t in ref.tasks.items()},
        "附件4事项": {f"{k} {m.item[:40]}": k for k, m in ref.matters.items()},
        "是否": {"是": "true", "否": "false"},
    }
