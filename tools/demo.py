"""A demo quarter: what the 17 市州 systems and the office would report in one quarter.

`generate_demo()` returns raw reports in contract v1 (docs/CONTRACT.md), in the order they would
be published: each 市州 system (`pref:<code>`) appoints its leaders and reports its projects along
the four lists (二), their milestones (十九), its leaders' trips ((二十一)), themed events (三),
附件3 tasks and 附件4 matters; the office verifies most milestones. Units differ on purpose, so
the ranking is worth looking at. `demo_rejects()` gives malformed reports to show rejections.

Deterministic: the same quarter and seed give the same reports with the same event ids, so
publishing them again is answered "duplicate". Names of people and of smaller companies are
made up; the large investors are the ones the plan names (附件4) or well-known groups.
"""

from __future__ import annotations

import calendar
import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID, uuid5

from services.kernel.contract.contracts import MILESTONE_TYPES, OWNER, credit_code_check_character
from services.kernel.reference.reference import PREFECTURES_AND_COUNTIES, Reference, reference

# Fixed: changing it would change every demo event id, and a re-run would no longer be a resend.
NAMESPACE = UUID("0b7a4a52-1f0e-5c53-9d0a-2f6d8e3c9b41")
OFFICE = "office"
CENT = Decimal("0.01")
# 自贸试验区 (十一) has areas in 武汉、襄阳、宜昌 only.
FREE_TRADE_ZONE_PREFECTURES = frozenset({"420100", "420600", "420500"})
VERIFIED_SHARE = 0.9  # the office checks most milestones within the quarter


@dataclass(frozen=True)
class Profile:
    """How a 市州 does in the demo quarter."""

    projects: int  # projects drawn from the templates, besides the named ones below
    pace: float  # chance a project reaches its next stage (二)(十九) within the quarter
    others: int  # 其他负责人 besides the principal and the investment lead (二十一)
    trips: int  # out-of-province trips its leaders complete
    events: int  # themed events in the three regions (三)
    diligence: float  # chance an 附件3 task is reported before its deadline


PROFILES = {
    "420100": Profile(14, 0.85, 3, 6, 3, 1.0),  # 武汉市
    "420200": Profile(5, 0.6, 2, 3, 2, 0.8),  # 黄石市
    "420300": Profile(6, 0.6, 2, 2, 2, 0.7),  # 十堰市
    "420500": Profile(10, 0.75, 3, 4, 3, 1.0),  # 宜昌市
    "420600": Profile(10, 0.8, 3, 5, 3, 1.0),  # 襄阳市
    "420700": Profile(4, 0.8, 2, 3, 2, 0.9),  # 鄂州市
    "420800": Profile(6, 0.7, 2, 4, 2, 0.9),  # 荆门市
    "420900": Profile(7, 0.65, 2, 4, 2, 0.8),  # 孝感市
    "421000": Profile(7, 0.6, 2, 3, 2, 0.6),  # 荆州市
    "421100": Profile(6, 0.55, 3, 2, 2, 0.5),  # 黄冈市
    "421200": Profile(5, 0.5, 2, 1, 1, 0.5),  # 咸宁市
    "421300": Profile(5, 0.5, 1, 1, 2, 0.6),  # 随州市
    "422800": Profile(5, 0.55, 2, 2, 1, 0.4),  # 恩施土家族苗族自治州
    "429004": Profile(5, 0.6, 1, 3, 2, 0.8),  # 仙桃市
    "429005": Profile(4, 0.55, 1, 0, 1, 0.3),  # 潜江市
    "429006": Profile(3, 0.5, 1, 1, 0, 0.0),  # 天门市
    "429021": Profile(3, 0.8, 1, 1, 1, 0.5),  # 神农架林区
}


@dataclass(frozen=True)
class Investor:
    name: str
    brand: str  # what its project companies are called after
    origin: str  # ISO 3166 alpha-2, or CN-<province> for a domestic investor
    fortune_global_500: bool = False
    china_top_500: bool = False

    def payload(self) -> dict:
        return {
            "name": self.name,
            "origin": self.origin,
            "fortune_global_500": self.fortune_global_500,
            "china_top_500": self.china_top_500,
        }


# Flags as we read the 2020 lists (《财富》世界500强, 中国企业500强); the policy gives a bonus
# for a Fortune Global 500 investor's project starting construction.
INVESTORS = {
    "huawei": Investor("华为技术有限公司", "华为", "CN-44", True, True),
    "tencent": Investor("深圳市腾讯计算机系统有限公司", "腾讯", "CN-44", True, True),
    "sf": Investor("顺丰控股股份有限公司", "顺丰", "CN-44", False, True),
    "baoneng": Investor("宝能投资集团有限公司", "宝能", "CN-44", False, True),
    "gac": Investor("广州汽车集团股份有限公司", "广汽", "CN-44", True, True),
    "meili": Investor("美丽集团有限公司", "美丽", "CN-44"),
    "jd": Investor("北京京东世纪贸易有限公司", "京东", "CN-11", True, True),
    "alibaba": Investor("阿里巴巴（中国）有限公司", "阿里", "CN-33", True, True),
    "midea": Investor("美的集团股份有限公司", "美的", "CN-44", True, True),
    "lenovo": Investor("联想集团有限公司", "联想", "CN-11", True, True),
    "crrc": Investor("中国中车股份有限公司", "中车", "CN-11", True, True),
    "cscec": Investor("中国建筑股份有限公司", "中建", "CN-11", True, True),
    "vanke": Investor("万科企业股份有限公司", "万科", "CN-44", True, True),
    "country_garden": Investor("碧桂园控股有限公司", "碧桂园", "CN-44", True, True),
    "byd": Investor("比亚迪股份有限公司", "比亚迪", "CN-44", False, True),
    "catl": Investor("宁德时代新能源科技股份有限公司", "宁德时代", "CN-35", False, True),
    "gree": Investor("珠海格力电器股份有限公司", "格力", "CN-44", False, True),
    "sany": Investor("三一集团有限公司", "三一", "CN-43", False, True),
    "boe": Investor("京东方科技集团股份有限公司", "京东方", "CN-11", False, True),
    "longi": Investor("隆基绿能科技股份有限公司", "隆基", "CN-61", False, True),
    "tongwei": Investor("通威集团有限公司", "通威", "CN-51", False, True),
    "hikvision": Investor("杭州海康威视数字技术股份有限公司", "海康", "CN-33", False, True),
    "jcet": Investor("江苏长电科技股份有限公司", "长电", "CN-32"),
    "semcorp": Investor("上海恩捷新材料科技有限公司", "恩捷", "CN-31"),
    "qianxin": Investor("奇安信科技集团股份有限公司", "奇安信", "CN-11"),
    "baidu": Investor("百度在线网络技术（北京）有限公司", "百度", "CN-11", False, True),
    "tower": Investor("中国铁塔股份有限公司", "铁塔", "CN-11", False, True),
    "marubeni": Investor("丸红株式会社", "丸红", "JP", True),
    "denso": Investor("株式会社电装", "电装", "JP", True),
    "psa": Investor("标致雪铁龙集团", "标致雪铁龙", "FR", True),
    "veolia": Investor("威立雅环境集团", "威立雅", "FR", True),
    "danone": Investor("达能集团", "达能", "FR", True),
    "schneider": Investor("施耐德电气有限公司", "施耐德", "FR"),
    "bosch": Investor("罗伯特·博世有限公司", "博世", "DE", True),
    "siemens": Investor("西门子股份公司", "西门子", "DE", True),
    "cummins": Investor("康明斯公司", "康明斯", "US"),
    "walmart": Investor("沃尔玛公司", "沃尔玛", "US", True),
    "maersk": Investor("马士基集团", "马士基", "DK", True),
    "kerry": Investor("嘉里物流联网有限公司", "嘉里", "HK"),
    # 楚商回归 (八): groups founded by people from Hubei, and smaller 鄂商 firms.
    "xiaomi": Investor("小米科技有限责任公司", "小米", "CN-11", True, True),
    "taikang": Investor("泰康保险集团股份有限公司", "泰康", "CN-11", True, True),
    "chuyun": Investor("深圳市楚韵科技有限公司", "楚韵", "CN-44"),
    "echang": Investor("上海鄂商投资控股有限公司", "鄂商", "CN-31"),
    "jingchu": Investor("东莞市荆楚电子有限公司", "荆楚电子", "CN-44"),
    "chutian": Investor("浙江楚天新材料股份有限公司", "楚天", "CN-33"),
    "chuxiang": Investor("福建楚乡供应链管理有限公司", "楚乡", "CN-35"),
    # 校友招商 (七): companies of the universities' alumni.
    "hust_alumni": Investor("北京华科校友创业投资有限公司", "华科创投", "CN-11"),
    "whu_alumni": Investor("深圳珞珈校友科技有限公司", "珞珈", "CN-44"),
}
CHUSHANG = frozenset({"xiaomi", "taikang", "chuyun", "echang", "jingchu", "chutian", "chuxiang"})
ALUMNI = frozenset({"hust_alumni", "whu_alumni"})


@dataclass(frozen=True)
class Template:
    """A kind of project; a 市州 draws its projects from these."""

    stem: str  # the name after the place: 襄阳 + 鲲鹏生态产业园 + 项目
    business: str  # the project company's line: 华为（襄阳）+ 数字科技 + 有限公司
    industry: str  # 附件2 key
    investors: tuple[str, ...]
    low: str  # total investment range, 亿元
    high: str
    categories: tuple[str, ...] = ()


def _templates(table: str) -> tuple[Template, ...]:
    """Rows of `stem | business | industry | investors | low-high 亿元 | categories`."""
    templates = []
    for line in table.strip().splitlines():
        stem, business, industry, investors, span, categories = (c.strip() for c in line.split("|"))
        low, high = span.split("-")
        templates.append(
            Template(
                stem,
                business,
                industry,
                tuple(investors.split()),
                low,
                high,
                tuple(categories.split()),
            )
        )
    return tuple(templates)


TEMPLATES = _templates("""
鲲鹏生态产业园 | 数字科技 | next_generation_it | huawei | 20-45 |
数字经济产业园 | 数字科技 | digital | tencent alibaba baidu | 8-40 | modern_services
智慧城市建设 | 智慧城市 | new_infrastructure_5g_ai | huawei hikvision | 2-12 | new_infrastructure
5G基站及数据中心 | 通信技术 | new_infrastructure_5g_ai | tower huawei | 3-15 | new_infrastructure
新能源汽车零部件产业园 | 汽车零部件 | automotive | byd gac cummins denso chuyun | 6-35 |
动力电池生产基地 | 新能源 | new_energy_materials | catl byd | 30-80 |
高效光伏组件生产 | 光伏科技 | new_energy_materials | longi tongwei | 8-45 |
锂电池隔膜材料 | 新材料 | new_energy_materials | semcorp chutian | 3-18 |
集成电路封装测试 | 半导体 | integrated_circuit | jcet jingchu | 5-40 |
存储芯片配套材料 | 电子材料 | memory_base | chutian jingchu | 3-25 |
智能装备制造产业园 | 智能装备 | intelligent_manufacturing | sany gree midea siemens bosch | 5-40 |
智能家电生产基地 | 电器 | intelligent_manufacturing | midea gree xiaomi | 10-30 |
电气设备数字化工厂 | 电气 | intelligent_manufacturing | schneider siemens | 2-12 |
轨道交通装备维保基地 | 轨道装备 | intelligent_manufacturing | crrc | 5-25 |
冷链物流园 | 冷链物流 | logistics | jd kerry chuxiang | 1.5-12 |
智能仓储配送中心 | 供应链 | logistics | jd alibaba chuxiang maersk | 2-15 |
生物医药产业园 | 生物医药 | biotech | chuyun echang hust_alumni | 3-30 |
大健康产业园 | 健康产业 | health_wellness | taikang baoneng | 10-40 |
康养特色小镇 | 康养发展 | health_wellness | baoneng echang | 10-35 | characteristic_town
国际医院 | 医院管理 | health_services | taikang baoneng | 8-30 |
养老社区 | 养老服务 | elderly_care | taikang | 5-30 |
文旅综合体 | 文旅发展 | culture_tourism | meili baoneng echang | 5-40 |
城市综合体 | 置业 | real_estate_engineering | vanke country_garden | 20-70 | real_estate
人才公寓 | 置业 | real_estate_engineering | vanke country_garden | 3-15 | real_estate
城市道路及管网PPP | 城市建设 | real_estate_engineering | cscec | 20-50 | ppp_urban_infrastructure
食品产业园 | 食品 | commerce_services | danone walmart chuxiang | 2-20 |
直播电商产业园 | 电子商务 | commerce_services | alibaba jd whu_alumni | 0.5-3 | modern_services
区域总部及研发中心 | 研发 | tech_services | marubeni bosch schneider | 1-8 | functional_institution
科技企业孵化器 | 科技服务 | tech_services | hust_alumni whu_alumni | 0.3-1.5 |
软件和信息服务外包基地 | 软件 | software_design | lenovo whu_alumni | 0.4-3 |
北斗时空信息产业园 | 时空信息 | geospatial_information | whu_alumni hust_alumni | 2-15 |
商业航天配套产业园 | 航天科技 | space_industry_base | echang | 10-40 |
航空零部件制造 | 航空科技 | aerospace | chuyun marubeni | 3-20 |
网络安全产业园 | 网络安全 | cybersecurity_base | qianxin | 3-20 |
智能网联汽车测试场 | 智能网联 | intelligent_vehicle_base | baidu | 5-25 |
水务环保 | 环境服务 | commerce_services | veolia | 2-15 |
金融后台服务中心 | 金融服务 | finance | taikang xiaomi | 2-12 | modern_services
全民健身中心 | 体育发展 | sports | echang | 0.3-1.2 |
人力资源服务产业园 | 人力资源 | human_resources | chuxiang whu_alumni | 0.2-0.9 |
农产品电商直播基地 | 农业电商 | commerce_services | chuxiang jingchu | 0.3-0.9 |
乡村民宿集群 | 乡村旅游 | culture_tourism | echang chuyun | 0.3-0.9 |
""")
GENERAL_CHANNELS = ("park", "park", "platform_event", "commissioned", "finance", "other")


@dataclass(frozen=True)
class Named:
    """A project the plan itself points at (附件4), placed where the plan places it."""

    region: str
    name: str
    template: Template
    investor: str
    total: str
    channel: str = "platform_event"


def _template(stem: str) -> Template:
    return next(t for t in TEMPLATES if t.stem == stem)


NAMED = (
    Named("420111", "腾讯（武汉）数字产业总部项目", _template("数字经济产业园"), "tencent", "30"),
    Named("420114", "中法武汉生态示范城智慧城市项目", _template("智慧城市建设"), "psa", "12"),
    Named("420606", "襄阳华为鲲鹏生态产业园项目", _template("鲲鹏生态产业园"), "huawei", "25"),
    Named("420500", "宜昌华为智慧城市及平安城市项目", _template("智慧城市建设"), "huawei", "8"),
    Named("420703", "鄂州花湖机场顺丰国际枢纽货站项目", _template("智能仓储配送中心"), "sf", "60"),
    Named("420703", "顺丰飞机机身维修基地项目", _template("航空零部件制造"), "sf", "15"),
    Named("420702", "梁子湖宝能生态文旅康养项目", _template("康养特色小镇"), "baoneng", "45"),
    Named("420923", "云梦古镇文旅项目", _template("文旅综合体"), "meili", "35", "commissioned"),
)

# A project's way along the lists (二) and through the milestones (十九):
# (report type, (fewest, most) days after the stage before).
STAGES = (
    ("project.tracking_started", (2, 20)),
    ("project.signed", (4, 20)),
    ("project.company_registered", (3, 12)),
    ("project.construction_started", (4, 16)),
    ("project.production_started", (8, 25)),
)
# Projects that open (开业) in premises that exist rather than start construction (开工).
OPENED_NOT_BUILT = frozenset(
    {
        "直播电商产业园",
        "区域总部及研发中心",
        "科技企业孵化器",
        "软件和信息服务外包基地",
        "金融后台服务中心",
        "人力资源服务产业园",
        "农产品电商直播基地",
        "乡村民宿集群",
    }
)
YEARLY_TRIPS = {"principal": 2, "investment_lead": 6, "other": 4}  # (二十一)

SURNAMES = "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "建国华明伟志强军平东海涛斌俊峰云鹏红梅晓燕丽静勇刚毅杰文武新春秋亮光辉宏林卫兵忠德"

# 赴省外招商 (二十一): where leaders went, and whom they could meet there.
DESTINATIONS = (
    ("北京市", ("xiaomi", "jd", "lenovo", "baidu", "taikang", "crrc", "boe", "qianxin")),
    ("上海市", ("echang", "semcorp", "schneider", "walmart")),
    ("广东省深圳市", ("huawei", "tencent", "sf", "baoneng", "byd", "vanke", "chuyun")),
    ("广东省广州市", ("gac", "meili", "country_garden")),
    ("广东省东莞市", ("jingchu", "huawei")),
    ("浙江省杭州市", ("alibaba", "hikvision", "chutian")),
    ("江苏省苏州市", ("jcet", "bosch", "siemens")),
    ("福建省厦门市", ("chuxiang", "catl")),
    ("香港特别行政区", ("kerry", "maersk")),
    ("日本", ("marubeni", "denso")),
    ("德国", ("bosch", "siemens")),
    ("法国", ("psa", "veolia", "danone")),
)
COUNTRIES = frozenset({"日本", "德国", "法国"})
DOMESTIC_TRIP_SHARE = 0.85  # in 2020 most trips stayed in China

# 三大重点区域 (三), with where such an event is typically held.
PROMOTION = (
    ("greater_bay_area", ("深圳", "广州", "香港")),
    ("yangtze_delta", ("上海", "杭州", "苏州")),
    ("beijing_tianjin_hebei", ("北京", "天津")),
)
PROMOTION_TITLES = (
    "{unit}（{city}）招商引资推介会",
    "{unit}—{city}产业合作对接会",
    "{unit}赴{city}重点项目签约活动",
)

MATTER_PROGRESS = (
    "已与{partner}召开专题对接会，形成合作备忘录，正在细化项目方案",
    "{partner}已完成实地考察，双方就选址和用地指标达成一致",
    "已成立工作专班对接{partner}，相关支持政策正在报批",
    "{partner}相关项目已签约，正在办理前期手续",
)


SCRIPTED_CORRECTION = "420800"  # 荆门市: a total raised past 20亿 makes a key project
SCRIPTED_WITHDRAWAL = "421100"  # 黄冈市: a registered project dropped
SCRIPTED_REJECTION = "420300"  # 十堰市: a capital arrival the office does not accept
SCRIPTED_RETRACTION = "421200"  # 咸宁市: a construction start reported falsely, taken back


def generate_demo(quarter: str = "2020Q3", seed: int = 2020) -> list[dict]:
    """A quarter of raw reports from all 17 市州 and the office, in publication order."""
    return _Demo(quarter, seed, reference()).run()


def by_sender(reports: list[dict]) -> list[tuple[str, list[dict]]]:
    """`reports` in runs of one sender each, for systems that each publish under their own
    credentials. Every report still reaches the system after the earlier reports it depends
    on, whoever sent them: those about the same subject (a project, a leader, a unit, the
    checks of one milestone) and the report a check names. A run waits for the phase before
    it; the runs of one phase share no subject."""
    phase_of_sender: dict[str, int] = {}
    last: dict[str, tuple[int, str]] = {}  # subject or event -> (phase, sender) of its latest
    runs: dict[tuple[int, str], list[dict]] = {}
    for report in reports:
        sender = report["source"]
        subjects, after = _dependencies(report)
        phase = phase_of_sender.get(sender, 0)
        for key in (*subjects, *after):
            if key in last:
                before, by = last[key]
                phase = max(phase, before if by == sender else before + 1)
        phase_of_sender[sender] = phase
        for key in (*subjects, f"event:{report['event_id']}"):
            last[key] = (phase, sender)
        runs.setdefault((phase, sender), []).append(report)
    return [(sender, run) for (_, sender), run in sorted(runs.items(), key=lambda i: i[0][0])]


def _dependencies(report: dict) -> tuple[list[str], list[str]]:
    """What a report is about, and what it must come after (the report a check names, the
    leader a planned project names)."""
    payload = report.get("payload", {})
    subjects, after = [], []
    if "project_code" in payload:
        subjects.append(f"project:{payload['project_code']}")
    if "milestone_event_id" in payload:
        subjects.append(f"milestone:{payload['milestone_event_id']}")
        after.append(f"event:{payload['milestone_event_id']}")
    if "leader_id" in payload:
        subjects.append(f"leader:{payload['leader_id']}")
    if "unit" in payload and not subjects:
        subjects.append(f"unit:{payload['unit']}")
    if leader := payload.get("planned_by_leader"):
        after.append(f"leader:{leader}")
    return subjects, after


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
        _envelope(uuid5(NAMESPACE, f"reject:{quarter}:{n}"), kind, "pref:420100", day, payload)
        for n, (kind, payload) in enumerate(broken)
    ]


def quarter_bounds(quarter: str) -> tuple[date, date]:
    """The first and last day of a quarter such as "2020Q3"."""
    match = re.fullmatch(r"(\d{4})Q([1-4])", quarter)
    if match is None:
        raise ValueError(f'quarter {quarter!r} should read like "2020Q3"')
    year, last_month = int(match[1]), int(match[2]) * 3
    last_day = calendar.monthrange(year, last_month)[1]
    return date(year, last_month - 2, 1), date(year, last_month, last_day)


def credit_code(region: str, rng: random.Random) -> str:
    """A 统一社会信用代码 (GB 32100-2015) of a company registered in `region`.

    91 (工商, 企业) + the registering authority's region + a 9-character organisation code
    (GB 11714: 8 digits and a mod-11 check) + the mod-31 check character.
    """
    body = "".join(rng.choice("0123456789") for _ in range(8))
    weighted = sum(int(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - weighted % 11
    first17 = "91" + region + body + {10: "X", 11: "0"}.get(check, str(check))
    return first17 + credit_code_check_character(first17)


def _envelope(event_id: UUID, kind: str, source: str, day: date, payload: dict) -> dict:
    return {
        "event_id": str(event_id),
        "type": kind,
        "source": source,
        "occurred_on": day.isoformat(),
        "schema_version": 1,
        "payload": payload,
    }


def _short(name: str) -> str:
    """A place as project names use it: 夷陵区 -> 夷陵, 长阳土家族自治县 -> 长阳, 随县 -> 随县."""
    for marker in ("土家族", "自治", "林区"):
        if marker in name:
            return name[: name.index(marker)]
    return name[:-1] if len(name) > 2 and name[-1] in "市区县" else name


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f")


@dataclass
class Project:
    code: str
    name: str
    template: Template
    investor: str
    region: str
    prefecture: str
    total: Decimal
    proposed_on: date

    @property
    def source(self) -> str:
        return f"pref:{self.prefecture}"


@dataclass(frozen=True)
class Leader:
    leader_id: str
    name: str
    unit: str
    role: str
    appointed_on: date


class _Demo:
    def __init__(self, quarter: str, seed: int, ref: Reference):
        self.quarter, self.seed, self.ref = quarter, seed, ref
        self.start, self.end = quarter_bounds(quarter)
        self.rng = random.Random(f"{seed}:{quarter}")
        self.outbox: list[tuple[date, int, int, dict]] = []
        self.event_ids: set[str] = set()
        self.people: set[str] = set()
        self.proposals: dict[str, tuple[date, dict]] = {}  # code -> (proposed on, payload)
        unknown = {t.industry for t in TEMPLATES} - set(ref.industries)
        if unknown or set(PROFILES) != {p.code for p in ref.prefectures}:
            raise ValueError(f"the demo is out of step with the reference data: {unknown}")

    def run(self) -> list[dict]:
        scripted = {
            SCRIPTED_CORRECTION: self.corrected_project,
            SCRIPTED_WITHDRAWAL: self.withdrawn_project,
            SCRIPTED_REJECTION: self.rejected_capital,
            SCRIPTED_RETRACTION: self.retracted_start,
        }
        for prefecture in self.ref.prefectures:
            code, profile = prefecture.code, PROFILES[prefecture.code]
            leaders = self.appoint_leaders(code, profile)
            projects = self.projects(code, profile)
            self.plan_major_projects(leaders, projects)
            for project in projects:
                self.follow(project, leaders, profile.pace)
            if code in scripted:
                scripted[code](f"{code}-{self.quarter}-{len(projects) + 1:02d}", leaders)
            self.trips(leaders, profile.trips)
            self.promotion_events(code, profile.events)
            self.tasks(code, profile.diligence)
            self.matters(code)
        # Publication order: by business date; within a day registry's reports before
        # tracking's (whatever a report depends on happened at least a day before it).
        return [report for *_, report in sorted(self.outbox, key=lambda item: item[:3])]

    # Sending -------------------------------------------------------------------------------

    def emit(self, kind: str, source: str, day: date, payload: dict, key: str) -> str:
        event_id = uuid5(NAMESPACE, f"{self.seed}:{self.quarter}:{kind}:{key}")
        if str(event_id) in self.event_ids:
            raise ValueError(f"two demo reports share the key {kind}:{key}")
        self.event_ids.add(str(event_id))
        owner_rank = 0 if OWNER[kind] == "registry" else 1
        report = _envelope(event_id, kind, source, day, payload)
        self.outbox.append((day, owner_rank, len(self.outbox), report))
        return str(event_id)

    def day_in(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max((last - first).days, 0)))

    # Leaders (二十一) -----------------------------------------------------------------------

    def appoint_leaders(self, unit: str, profile: Profile) -> list[Leader]:
        """The principal, the investment lead and the others, in that order."""
        roles = [("principal", "principal"), ("lead", "investment_lead")]
        roles += [(f"other-{n}", "other") for n in range(1, profile.others + 1)]
        leaders = []
        for suffix, role in roles:
            name = self.person_name()
            day = self.start + timedelta(days=self.rng.randint(0, 2))
            leader = Leader(f"{unit}-{suffix}", name, unit, role, day)
            payload = {
                "leader_id": leader.leader_id,
                "name": leader.name,
                "unit": unit,
                "role": role,
            }
            self.emit("leader.appointed", f"pref:{unit}", day, payload, leader.leader_id)
            leaders.append(leader)
        return leaders

    def plan_major_projects(self, leaders: list[Leader], projects: list[Project]) -> None:
        """(二十一): each leader plans one major project of about 30 / 20 / 10亿 by role, not real
        estate or a 特色小镇. A leader takes the project proposed after their appointment whose
        total is nearest their target, if one is within half of it; some find none."""
        taken: set[str] = set()
        for leader in leaders:
            role = self.ref.leader_roles[leader.role]
            target = role.planned_project_yi
            fitting = [
                p
                for p in projects
                if target is not None
                and p.code not in taken
                and self.proposals[p.code][0] >= leader.appointed_on
                and role.excluded_categories.isdisjoint(p.template.categories)
                and abs(p.total - target) <= target / 2
            ]
            if fitting:
                chosen = min(fitting, key=lambda p: (abs(p.total - target), p.code))
                taken.add(chosen.code)
                self.proposals[chosen.code][1]["planned_by_leader"] = leader.leader_id

    def person_name(self) -> str:
        while True:
            given = self.rng.sample(GIVEN, self.rng.choice((1, 2)))
            name = self.rng.choice(SURNAMES) + "".join(given)
            if name not in self.people:
                self.people.add(name)
                return name

    def trips(self, leaders: list[Leader], count: int) -> None:
        """`count` trips, drawn in proportion to each leader's yearly quota (二十一)."""
        chosen = self.rng.choices(leaders, [YEARLY_TRIPS[x.role] for x in leaders], k=count)
        first = self.start + timedelta(days=4)  # after every appointment
        for leader in leaders:
            n = chosen.count(leader)
            slot = (self.end - first).days // max(n, 1)  # one trip per slot: none overlap
            for i in range(n):
                departed = first + timedelta(days=i * slot + self.rng.randint(0, slot - 6))
                returned = departed + timedelta(days=self.rng.randint(1, 4))
                self.trip(leader, departed, returned, i)

    def trip(self, leader: Leader, departed: date, returned: date, n: int) -> None:
        abroad = self.rng.random() > DOMESTIC_TRIP_SHARE
        places = [d for d in DESTINATIONS if (d[0] in COUNTRIES) == abroad]
        destination, companies = self.rng.choice(places)
        met = self.rng.sample(companies, min(len(companies), self.rng.randint(1, 3)))
        payload = {
            "leader_id": leader.leader_id,
            "destination": destination,
            "departed_on": departed.isoformat(),
            "returned_on": returned.isoformat(),
            "companies_met": [INVESTORS[key].name for key in met],
        }
        self.emit(
            "leader.trip_completed",
            f"pref:{leader.unit}",
            returned,
            payload,
            f"{leader.leader_id}/{n}",
        )

    # Projects (二) and their milestones (十九) -----------------------------------------------

    def projects(self, prefecture: str, profile: Profile) -> list[Project]:
        named = [n for n in NAMED if self.ref.prefecture_of(n.region).code == prefecture]
        templates = self.rng.sample(TEMPLATES, profile.projects)
        projects = []
        for n, item in enumerate([*named, *templates], 1):
            code = f"{prefecture}-{self.quarter}-{n:02d}"
            if isinstance(item, Named):
                projects.append(
                    self.propose(
                        code,
                        item.name,
                        item.template,
                        item.investor,
                        item.region,
                        Decimal(item.total),
                        item.channel,
                    )
                )
            else:
                projects.append(self.drawn(code, prefecture, item))
        return projects

    def drawn(self, code: str, prefecture: str, template: Template) -> Project:
        counties = self.ref.counties_of(prefecture)
        in_county = counties and self.rng.random() < 0.7
        region = self.rng.choice(counties).code if in_county else prefecture
        investor = self.rng.choice(template.investors)
        low, high = (int(Decimal(x) * 10) for x in (template.low, template.high))
        total = Decimal(self.rng.randint(low, high)) / 10
        if investor in CHUSHANG:
            channel = "chushang_return"
        elif investor in ALUMNI:
            channel = "alumni"
        else:
            zone = ("free_trade_zone",) if prefecture in FREE_TRADE_ZONE_PREFECTURES else ()
            channel = self.rng.choice(GENERAL_CHANNELS + zone)
        name = f"{_short(self.ref.region(region).name)}{template.stem}项目"
        return self.propose(code, name, template, investor, region, total, channel)

    def propose(
        self,
        code: str,
        name: str,
        template: Template,
        investor: str,
        region: str,
        total: Decimal,
        channel: str,
        proposed_on: date | None = None,
    ) -> Project:
        if proposed_on is None and self.rng.random() < 0.65:
            # Most were on the promotion list (推介) before the quarter, all within the plan year.
            earlier = self.start - timedelta(days=self.rng.randint(1, 150))
            proposed_on = max(earlier, date(self.start.year, 1, 1))
        elif proposed_on is None:
            proposed_on = self.start + timedelta(days=self.rng.randint(0, 40))
        prefecture = self.ref.prefecture_of(region).code
        project = Project(code, name, template, investor, region, prefecture, total, proposed_on)
        categories = list(template.categories)
        if INVESTORS[investor].origin[:3] != "CN-" and "foreign_investment" not in categories:
            categories.append("foreign_investment")
        payload = {
            "project_code": code,
            "name": name,
            "investor": INVESTORS[investor].payload(),
            "industry": template.industry,
            "region": region,
            "total_investment": _amount(total),
            "categories": categories,
            "channel": channel,
        }
        self.emit("project.proposed", project.source, proposed_on, payload, code)
        self.proposals[code] = (proposed_on, payload)
        return project

    def follow(self, project: Project, leaders: list[Leader], pace: float) -> None:
        """Moves a project along the lists and milestones as far as its pace and the quarter
        allow: a stage that would fall after the quarter does not happen in it."""
        day = max(project.proposed_on, self.start + timedelta(days=2))
        for reached, (kind, (fewest, most)) in enumerate(STAGES):
            day += timedelta(days=self.rng.randint(fewest, most))
            if (reached and self.rng.random() > pace) or day > self.end:
                return
            event_id = self.stage(project, kind, day, leaders)
            if kind in MILESTONE_TYPES:
                self.maybe_verify(event_id, day)
            if kind == "project.company_registered":
                self.capital(project, day, self.rng.randint(1, 4))

    def stage(self, project: Project, kind: str, day: date, leaders: list[Leader]) -> str:
        """Reports one stage; its event id."""
        code, source = project.code, project.source
        match kind:
            case "project.tracking_started":
                event_id = self.emit(kind, source, day, {"project_code": code}, code)
                if self.is_key(project):
                    self.assign(project, day + timedelta(days=self.rng.randint(1, 7)), leaders)
                return event_id
            case "project.signed":
                share = Decimal(self.rng.randint(80, 100)) / 100
                contract = _amount((project.total * share).quantize(CENT))
                fields = {"project_code": code, "contract_investment": contract}
                return self.emit(kind, source, day, fields, code)
            case "project.company_registered":
                place = _short(self.ref.region(project.region).name)
                brand = INVESTORS[project.investor].brand
                return self.milestone(
                    kind,
                    project,
                    day,
                    {
                        "credit_code": credit_code(project.region, self.rng),
                        "company_name": f"{brand}（{place}）{project.template.business}有限公司",
                    },
                    code,
                )
            case "project.construction_started":
                opening = project.template.stem in OPENED_NOT_BUILT
                fields = {"kind": "opening" if opening else "construction"}
                return self.milestone(kind, project, day, fields, code)
            case _:  # project.production_started
                return self.milestone(kind, project, day, {}, code)

    def is_key(self, project: Project) -> bool:
        return self.ref.key_project.is_key_project(project.total, project.template.categories)

    def assign(self, project: Project, day: date, leaders: list[Leader]) -> None:
        """五个一 (二): the principal takes the largest projects, another leader the rest."""
        leader = leaders[0] if project.total >= 30 else self.rng.choice(leaders[1:])
        stem = project.name.removesuffix("项目")
        self.emit(
            "project.assigned",
            project.source,
            min(day, self.end),
            {
                "project_code": project.code,
                "leader": leader.name,
                "task_force": f"{stem}项目专班",
                "plan": f"《{stem}项目推进方案》：倒排工期、挂图作战，按月调度用地、环评和施工许可",
            },
            project.code,
        )

    def capital(self, project: Project, registered_on: date, tranches: int) -> None:
        """到资 into the registered company, in tranches that stay well below the total."""
        day = registered_on
        for n in range(tranches):
            day += timedelta(days=self.rng.randint(3, 20))
            if day > self.end:
                return
            share = Decimal(self.rng.randint(4, 18)) / 100
            amount = max((project.total * share).quantize(CENT), CENT)
            event_id = self.milestone(
                "project.capital_arrived",
                project,
                day,
                {"amount": _amount(amount)},
                f"{project.code}/{n}",
            )
            self.maybe_verify(event_id, day)

    def milestone(self, kind: str, project: Project, day: date, fields: dict, key: str) -> str:
        return self.emit(kind, project.source, day, {"project_code": project.code, **fields}, key)

    def maybe_verify(self, milestone: str, reported_on: date) -> None:
        """The office's check (甄别), unless it does not get to it within the quarter."""
        checked_on = reported_on + timedelta(days=self.rng.randint(2, 12))
        if self.rng.random() < VERIFIED_SHARE and checked_on <= self.end:
            self.verify(milestone, checked_on)

    def verify(self, milestone: str, day: date) -> None:
        self.emit("milestone.verified", OFFICE, day, {"milestone_event_id": milestone}, milestone)

    # The four cases a quarter also brings, each once, at fixed days into the quarter ------

    def scripted(
        self, code: str, region: str, stem: str, investor: str, total: str, leaders: list[Leader]
    ) -> Project:
        """Proposed a month before the quarter, tracked, signed and registered in it."""
        name = f"{_short(self.ref.region(region).name)}{stem}项目"
        proposed_on = max(self.start - timedelta(days=30), date(self.start.year, 1, 1))
        project = self.propose(
            code,
            name,
            _template(stem),
            investor,
            region,
            Decimal(total),
            "platform_event",
            proposed_on,
        )
        for kind, days in (("project.tracking_started", 3), ("project.signed", 10)):
            self.stage(project, kind, self.on(days), leaders)
        registered = self.stage(project, "project.company_registered", self.on(18), leaders)
        self.verify(registered, self.on(22))
        return project

    def on(self, days: int) -> date:
        return self.start + timedelta(days=days)

    def corrected_project(self, code: str, leaders: list[Leader]) -> None:
        """The feasibility study raises the total past 20亿: now a key project, it gets its
        五个一 and its start is a key-project landing."""
        project = self.scripted(code, "420804", "锂电池隔膜材料", "semcorp", "18.5", leaders)
        project.total = Decimal(22)
        self.emit(
            "project.corrected",
            project.source,
            self.on(14),
            {
                "project_code": code,
                "changes": {"total_investment": "22"},
                "reason": "可研批复追加二期产能，总投资由18.5亿元调增至22亿元",
            },
            code,
        )
        self.assign(project, self.on(15), leaders)
        start = self.stage(project, "project.construction_started", self.on(30), leaders)
        self.verify(start, self.on(34))

    def withdrawn_project(self, code: str, leaders: list[Leader]) -> None:
        """Registered and verified, then dropped: its registration no longer counts."""
        project = self.scripted(code, "421121", "智能装备制造产业园", "sany", "6.8", leaders)
        self.emit(
            "project.withdrawn",
            project.source,
            self.on(40),
            {
                "project_code": code,
                "reason": "投资方经营困难，经双方协商终止合作，项目撤销",
            },
            code,
        )

    def rejected_capital(self, code: str, leaders: list[Leader]) -> None:
        """A second tranche that was a bank loan, not the investor's capital."""
        project = self.scripted(code, "420303", "新能源汽车零部件产业园", "cummins", "12", leaders)
        start = self.stage(project, "project.construction_started", self.on(24), leaders)
        self.verify(start, self.on(27))
        first = self.milestone(
            "project.capital_arrived", project, self.on(30), {"amount": "2"}, f"{code}/0"
        )
        self.verify(first, self.on(33))
        second = self.milestone(
            "project.capital_arrived", project, self.on(45), {"amount": "3.5"}, f"{code}/1"
        )
        self.emit(
            "milestone.rejected",
            OFFICE,
            self.on(50),
            {
                "milestone_event_id": second,
                "reason": "到资凭证为银行流动资金贷款，不属于项目资本金，不予认定",
            },
            second,
        )

    def retracted_start(self, code: str, leaders: list[Leader]) -> None:
        """A start the office had verified, taken back by the 市州 that reported it."""
        project = self.scripted(code, "421221", "高效光伏组件生产", "tongwei", "15", leaders)
        start = self.stage(project, "project.construction_started", self.on(25), leaders)
        self.verify(start, self.on(30))
        self.emit(
            "milestone.retracted",
            project.source,
            self.on(40),
            {
                "milestone_event_id": start,
                "reason": "经现场复核，项目仅完成场地平整，尚未实质性开工，撤回原开工报告",
            },
            start,
        )

    # Other reports --------------------------------------------------------------------------

    def promotion_events(self, unit: str, count: int) -> None:
        """Themed events in the three regions (三), a different region each time."""
        name = _short(self.ref.region(unit).name)
        first = self.rng.randrange(len(PROMOTION))
        for n in range(count):
            target, cities = PROMOTION[(first + n) % len(PROMOTION)]
            title = self.rng.choice(PROMOTION_TITLES).format(
                unit=name, city=self.rng.choice(cities)
            )
            payload = {"unit": unit, "target_region": target, "title": title}
            self.emit(
                "promotion.event_held",
                f"pref:{unit}",
                self.day_in(self.start, self.end),
                payload,
                f"{unit}/{n}",
            )

    def tasks(self, unit: str, diligence: float) -> None:
        """The 附件3 tasks due this quarter: reported on time, late, or not at all."""
        for task in self.ref.tasks.values():
            due = task.deadline_date
            if (
                task.responsible != PREFECTURES_AND_COUNTIES
                or unit in task.exempt
                or not self.start <= due <= self.end
            ):
                continue
            if self.rng.random() < diligence:
                day = self.day_in(self.start, due)
            elif due < self.end and self.rng.random() < 0.6:
                day = self.day_in(due + timedelta(days=1), self.end)
            else:
                continue
            self.emit(
                "task.completed",
                f"pref:{unit}",
                day,
                {"task_id": task.id, "unit": unit},
                f"{unit}/{task.id}",
            )

    def matters(self, unit: str) -> None:
        """Progress on the 附件4 matters the 市州 government is responsible for."""
        for matter in self.ref.matters.values():
            if unit not in matter.responsible or self.rng.random() < 0.3:
                continue
            done = self.rng.random() < 0.2
            partners = "、".join(matter.partners)
            progress = (
                f"{partners}相关事项已落实，企业反馈良好"
                if done
                else self.rng.choice(MATTER_PROGRESS).format(partner=partners)
            )
            payload = {
                "matter_id": matter.id,
                "unit": unit,
                "progress": progress,
                "status": "done" if done else "in_progress",
            }
            self.emit(
                "matter.progress_reported",
                f"pref:{unit}",
                self.day_in(self.start, self.end),
                payload,
                f"{unit}/{matter.id}",
            )
