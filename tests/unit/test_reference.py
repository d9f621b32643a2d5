"""The reference data held against the seed plan (鄂政办发〔2020〕22号), and the loader's refusals.

Expected values are copied by hand from the seed, not from the data files, so a slip in either
shows up here.
"""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from services.kernel.reference import (
    DATA_DIR,
    ReferenceDataError,
    load_reference,
    reference,
)

PREFECTURES = {
    "420100": "武汉市",
    "420200": "黄石市",
    "420300": "十堰市",
    "420500": "宜昌市",
    "420600": "襄阳市",
    "420700": "鄂州市",
    "420800": "荆门市",
    "420900": "孝感市",
    "421000": "荆州市",
    "421100": "黄冈市",
    "421200": "咸宁市",
    "421300": "随州市",
    "422800": "恩施土家族苗族自治州",
    "429004": "仙桃市",
    "429005": "潜江市",
    "429006": "天门市",
    "429021": "神农架林区",
}
DIRECTLY_ADMINISTERED = ("429004", "429005", "429006", "429021")

# 附件1 成员 (units, in the seed's order).
ATTACHMENT1 = [
    "省委外办", "省委台办", "省发改委", "省科技厅", "省经信厅", "省财政厅", "省自然资源厅",
    "省生态环境厅", "省交通运输厅", "省商务厅", "省文旅厅", "省卫健委", "省政府国资委",
    "省市场监管局", "省统计局", "省地方金融监管局", "省工商联", "省贸促会", "武汉海关",
    "省税务局", "省知识产权局", "省驻京办", "省驻沪办", "省驻深办", "省驻厦办",
]  # fmt: skip

# 附件2, every row: (group, industry, lead departments).
ATTACHMENT2 = [
    ("十大重点产业", "集成电路", ["省经信厅"]),
    ("十大重点产业", "地理空间信息", ["省自然资源厅"]),
    ("十大重点产业", "新一代信息技术", ["省经信厅"]),
    ("十大重点产业", "智能制造", ["省经信厅"]),
    ("十大重点产业", "汽车", ["省发改委"]),
    ("十大重点产业", "数字", ["省科技厅"]),
    ("十大重点产业", "生物", ["省发改委"]),
    ("十大重点产业", "康养", ["省卫健委", "省文旅厅"]),
    ("十大重点产业", "新能源与新材料", ["省能源局", "省科技厅"]),
    ("十大重点产业", "航空航天", ["省发改委"]),
    ("国家级产业基地", "国家存储器基地", ["省经信厅"]),
    ("国家级产业基地", "国家航天产业基地", ["省发改委"]),
    ("国家级产业基地", "国家网络安全人才与创新基地", ["省委网信办"]),
    ("国家级产业基地", "国家新能源和智能网联汽车基地", ["省发改委"]),
    ("现代服务业", "金融业", ["省地方金融监管局"]),
    ("现代服务业", "现代物流业", ["省交通运输厅", "省发改委"]),
    ("现代服务业", "软件和信息技术服务业、工业设计服务", ["省经信厅"]),
    ("现代服务业", "商贸服务、家庭服务、市场化养老、会展、租赁服务业，“宅经济”", ["省商务厅"]),
    ("现代服务业", "科技服务业", ["省科技厅"]),
    ("现代服务业", "房地产业、工程设计", ["省住建厅"]),
    ("现代服务业", "文化服务业、旅游服务业", ["省文旅厅"]),
    ("现代服务业", "健康服务业", ["省卫健委"]),
    ("现代服务业", "养老服务业", ["省民政厅"]),
    ("现代服务业", "人力资源服务业", ["省人社厅"]),
    ("现代服务业", "体育服务业", ["省体育局"]),
    ("“新基建”产业", "5G 基站建设、人工智能等", ["省经信厅"]),
]

# 附件3, every row: (task, 责任单位 rule, 完成时限).
ATTACHMENT3 = [
    ("报送省招商引资工作领导小组成员信息（分管领导、具体联系处室负责人名单及联系方式）",
     "departments_attachment1", "2020-05"),
    ("建立招商引资工作领导小组和工作协调机制", "prefectures_and_counties", "2020-06"),
    ("制定年度招商引资行动计划、招商地图", "prefectures_and_counties", "2020-06"),
    ("制定产业招商指南", "departments_attachment2_top10", "2020-06"),
    ("谋划并提出本地的招商引资重点项目清单（推介、跟踪、签约、开工）",
     "prefectures_and_counties", "2020-07"),
    ("建立“五个一”重点项目协调推进机制", "prefectures_and_counties", "2020-07"),
    ("谋划并提出本行业招商引资重点项目清单（推介、跟踪、签约、开工）",
     "departments_attachment2", "2020-07"),
    ("地方领导外出招商任务", "prefectures_and_counties", "2020-12"),
    ("部门领导外出招商任务", "departments_attachment2", "2020-12"),
    ("政府领导谋划招引重大产业项目任务", "prefectures_and_counties", "2020-12"),
    ("部门领导谋划招引重大产业项目任务", "departments_attachment2", "2020-12"),
]  # fmt: skip

# 附件4 partners, counted by hand: 6 in the 2019 鄂粤 talks, 12 at the advisory council.
GUANGDONG_PARTNERS = {
    "广州汽车集团股份有限公司", "华为公司", "美丽集团", "宝能集团", "顺丰集团", "腾讯",
}  # fmt: skip
ADVISORY_PARTNERS = {
    "中国美国商会", "康明斯", "标致雪铁龙", "沃尔沃", "达能", "威立雅", "沃尔玛", "汇丰银行",
    "施耐德电气", "丸红", "马士基", "波士顿咨询公司",
}  # fmt: skip


@pytest.fixture(scope="module")
def ref():
    return load_reference()


def names(ref, keys):
    return [ref.departments[key].name for key in keys]


def matters_of(ref, partner):
    return [m for m in ref.matters.values() if partner in m.partners]


# Regions ---------------------------------------------------------------------------------


def test_hubei_has_exactly_the_seventeen_prefecture_level_units_in_code_order(ref):
    assert [(r.code, r.name) for r in ref.prefectures] == sorted(PREFECTURES.items())


def test_every_county_belongs_to_one_of_the_seventeen_prefectures(ref):
    counties = [r for r in ref.regions.values() if not r.is_prefecture]
    assert len(counties) == 99
    for county in counties:
        assert county.level == "county"
        assert ref.prefecture_of(county.code).code in PREFECTURES
        assert county in ref.counties_of(county.prefecture_code)


def test_the_directly_administered_units_are_prefectures_without_counties(ref):
    for code in DIRECTLY_ADMINISTERED:
        assert ref.region(code).is_prefecture
        assert ref.counties_of(code) == ()


def test_wuhan_lists_its_thirteen_districts_in_code_order(ref):
    districts = [r.name for r in ref.counties_of("420100")]
    assert districts == [
        "江岸区", "江汉区", "硚口区", "汉阳区", "武昌区", "青山区", "洪山区",
        "东西湖区", "汉南区", "蔡甸区", "江夏区", "黄陂区", "新洲区",
    ]  # fmt: skip


def test_enshi_prefecture_has_its_eight_counties_and_cities(ref):
    assert len(ref.counties_of("422800")) == 8
    assert ref.prefecture_of("422801").name == "恩施土家族苗族自治州"


def test_statistical_aggregates_are_not_regions(ref):
    assert all(r.name != "市辖区" for r in ref.regions.values())
    for code in ("420000", "429000", "420101", "421001"):
        assert not ref.is_hubei_region(code)


def test_counties_renamed_before_cpca_caught_up_carry_their_current_codes(ref):
    assert ref.region("420882").name == "京山市"
    assert ref.region("421088").name == "监利市"
    assert not ref.is_hubei_region("420821")
    assert not ref.is_hubei_region("421023")


def test_a_prefecture_is_its_own_prefecture(ref):
    assert ref.prefecture_of("420500").code == "420500"
    assert ref.prefecture_of("420528").name == "宜昌市"


def test_a_region_outside_hubei_is_unknown(ref):
    assert not ref.is_hubei_region("110000")
    with pytest.raises(KeyError):
        ref.region("440300")
    with pytest.raises(KeyError):
        ref.counties_of("440300")


def test_regions_file_names_its_source():
    header = (DATA_DIR / "regions.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("#")
    assert "cpca 0.5.5" in header and "GB/T 2260" in header


# Departments -----------------------------------------------------------------------------


def test_every_member_unit_of_attachment1_is_a_department(ref):
    in_attachment1 = [d.name for d in ref.departments.values() if "附件1" in d.named_in]
    assert sorted(in_attachment1) == sorted(ATTACHMENT1)


def test_departments_have_short_pinyin_keys(ref):
    assert ref.departments["jingxin"].name == "省经信厅"
    assert ref.departments["shangwu"].name == "省商务厅"
    assert all(key.isascii() and key.islower() for key in ref.departments)


def test_abbreviations_the_seed_uses_are_aliases_of_one_department(ref):
    assert "省交通厅" in ref.departments["jiaotong"].aliases
    assert "省地方金融监督管理局" in ref.departments["jinrong"].aliases


# Industries (附件2) ------------------------------------------------------------------------


def test_the_industry_catalogue_is_attachment2_row_by_row(ref):
    rows = [
        (ref.industry_groups[i.group], i.name, names(ref, i.departments))
        for i in ref.industries.values()
    ]
    assert rows == ATTACHMENT2


def test_kangyang_is_led_by_the_health_commission_and_the_culture_and_tourism_department(ref):
    assert names(ref, ref.industries["health_wellness"].departments) == ["省卫健委", "省文旅厅"]


def test_a_department_leads_the_industries_that_name_it(ref):
    assert ref.industries_led_by("wenlv") == {"health_wellness", "culture_tourism"}
    assert ref.industries_led_by("tongji") == frozenset()
    with pytest.raises(KeyError):
        ref.industries_led_by("nonexistent")


# Leaders ((二十一), (二十二)) ---------------------------------------------------------------


def quota(role):
    return (role.applies_to, role.yearly_trips, role.planned_project_yi, role.section)


def test_government_leaders_travel_and_plan_projects_as_section_21_says(ref):
    roles = ref.leader_roles
    assert quota(roles["principal"]) == ("government", 2, Decimal("30"), "(二十一)")
    assert quota(roles["investment_lead"]) == ("government", 6, Decimal("20"), "(二十一)")
    assert quota(roles["other"]) == ("government", 4, Decimal("10"), "(二十一)")


def test_real_estate_and_characteristic_towns_are_not_a_leaders_major_project(ref):
    """(二十一)'s "房地产、特色小镇项目除外，下同" carries to the departments of (二十二)."""
    for key in ("principal", "investment_lead", "other", "department_head", "department_other"):
        assert ref.leader_roles[key].excluded_categories == {"real_estate", "characteristic_town"}


def test_department_leaders_travel_as_section_22_says_with_no_project_size(ref):
    roles = ref.leader_roles
    assert quota(roles["department_head"]) == ("department", 2, None, "(二十二)")
    assert quota(roles["department_other"]) == ("department", 3, None, "(二十二)")


def test_shennongjia_is_exempt_from_the_government_quotas(ref):
    assert ref.trip_quota_exempt == {"429021"}


# Tasks (附件3) -----------------------------------------------------------------------------


def test_the_tasks_are_attachment3_row_by_row_with_their_deadlines(ref):
    rows = [(t.title, t.responsible, t.deadline) for t in ref.tasks.values()]
    assert rows == ATTACHMENT3


def test_a_task_is_due_on_the_last_day_of_its_deadline_month(ref):
    assert ref.tasks["submit_member_info"].deadline_date == date(2020, 5, 31)
    assert ref.tasks["draft_industry_guide"].deadline_date == date(2020, 6, 30)
    assert ref.tasks["local_leader_trips"].deadline_date == date(2020, 12, 31)


def test_the_industry_guide_is_owed_by_the_top10_lead_departments(ref):
    assert ref.responsible_units("draft_industry_guide") == {
        "dept:jingxin", "dept:ziranziyuan", "dept:fagai", "dept:keji",
        "dept:weijian", "dept:wenlv", "dept:nengyuan",
    }  # fmt: skip


def test_member_information_is_owed_by_every_attachment1_department(ref):
    assert len(ref.responsible_units("submit_member_info")) == len(ATTACHMENT1)


def test_sector_tasks_are_owed_by_every_attachment2_lead_department(ref):
    assert ref.responsible_units("department_leader_trips") == {
        f"dept:{key}" for i in ref.industries.values() for key in i.departments
    }


def test_local_tasks_are_owed_by_every_region_but_leader_quotas_spare_shennongjia(ref):
    assert ref.responsible_units("set_up_leading_group") == set(ref.regions)
    for task in ("local_leader_trips", "local_leader_projects"):
        units = ref.responsible_units(task)
        assert "429021" not in units
        assert units == set(ref.regions) - {"429021"}


# Matters (附件4) ---------------------------------------------------------------------------


def test_attachment4_has_25_items_from_the_guangdong_talks_and_16_from_the_advisory_council(ref):
    groups = [m.group for m in ref.matters.values()]
    assert len(groups) == 41
    assert groups.count("guangdong_2019") == 25
    assert groups.count("advisory_council") == 16
    assert ref.matter_groups["advisory_council"] == "第一次湖北省省长国际企业家咨询会议嘉宾意见建议"


def test_every_partner_of_attachment4_is_there(ref):
    def partners(group):
        return {p for m in ref.matters.values() if m.group == group for p in m.partners}

    assert partners("guangdong_2019") == GUANGDONG_PARTNERS
    assert partners("advisory_council") == ADVISORY_PARTNERS


def test_each_partner_has_its_number_of_items(ref):
    counts = {p: len(matters_of(ref, p)) for p in GUANGDONG_PARTNERS | ADVISORY_PARTNERS}
    assert counts == {
        "广州汽车集团股份有限公司": 2, "华为公司": 4, "美丽集团": 2, "宝能集团": 7,
        "顺丰集团": 8, "腾讯": 2, "中国美国商会": 3, "康明斯": 6, "标致雪铁龙": 3,
        "沃尔沃": 1, "达能": 1, "威立雅": 3, "沃尔玛": 1, "汇丰银行": 1, "施耐德电气": 2,
        "丸红": 1, "马士基": 1, "波士顿咨询公司": 1,
    }  # fmt: skip


def test_shunfeng_items_take_their_responsible_units_in_the_seeds_order(ref):
    rows = [(m.item[:8], m.responsible) for m in matters_of(ref, "顺丰集团")]
    assert rows == [
        ("对飞机机身维修项", ("420700",)),
        ("支持鄂州临空综保", ("shangwu", "haiguan", "420700")),
        ("加强对航材交换监", ("shangwu", "haiguan")),
        ("研究出台有关政策", ("shangwu", "fagai")),
        ("支持顺丰等企业参", ("420100",)),
        ("支持顺丰集团联合", ("420700",)),
        ("加强多式联运能力", ("jiaotong",)),
        ("研究、协调经停鄂", ("shangwu", "fagai", "haiguan")),
    ]


def test_the_items_listed_under_shunfeng_about_tencent_belong_to_tencent(ref):
    tencent = matters_of(ref, "腾讯")
    assert [m.responsible for m in tencent] == [("shangwu",), ("420100",)]
    assert all("腾讯" in m.item for m in tencent)


def test_responsible_units_are_department_keys_prefecture_codes_or_the_seeds_words(ref):
    assert ref.matters["guangdong-06"].responsible == ("zhengwu", "420100", "420600", "420500")
    assert ref.matters["advisory-07"].responsible == (
        "zhujian", "jiaotong", "武汉铁路局", "湖北机场集团",
    )  # fmt: skip
    assert ref.matters["guangdong-13"].responsible == ("weijian", "有关市（州）政府")


def test_matter_texts_are_the_seeds_words(ref):
    assert ref.matters["guangdong-03"].item == "与华为共同打造鲲鹏生态产业园。"
    assert ref.matters["advisory-03"].item == "依法执法，保护外商投资企业的知识产权。"
    assert ref.matters["advisory-03"].theme == "营商环境等方面"
    assert ref.matters["advisory-13"].item.startswith("一是铁路运营商提供稳定的定价")


def test_on_the_misaligned_page_each_advice_goes_to_the_company_that_gave_it(ref):
    assert ref.matters["advisory-09"].partners == ("丸红",)
    assert ref.matters["advisory-09"].item.startswith("对日招商")
    assert ref.matters["advisory-11"].partners == ("标致雪铁龙",)
    assert "神龙汽车" in ref.matters["advisory-11"].item
    assert ref.matters["advisory-13"].partners == ("马士基",)
    assert ref.matters["advisory-13"].theme == "物流建设等方面"


def test_every_matter_is_due_by_the_end_of_2020(ref):
    assert {m.due for m in ref.matters.values()} == {date(2020, 12, 31)}


# Key projects ((二)) -----------------------------------------------------------------------


def test_a_project_of_20_yi_is_a_provincial_key_project(ref):
    assert ref.key_project.is_key_project(Decimal("20"), [])
    assert ref.key_project.is_key_project(Decimal("35.5"), ["new_infrastructure"])


def test_a_project_under_20_yi_is_not(ref):
    assert not ref.key_project.is_key_project(Decimal("19.99"), [])


@pytest.mark.parametrize(
    "category", ["real_estate", "characteristic_town", "ppp_urban_infrastructure"]
)
def test_excluded_categories_are_never_key_projects_however_large(ref, category):
    assert not ref.key_project.is_key_project(Decimal("25"), [category])


def test_an_investment_given_as_a_float_is_refused(ref):
    with pytest.raises(TypeError, match="Decimal"):
        ref.key_project.is_key_project(20.0, [])


def test_key_projects_get_a_leader_a_task_force_and_a_plan(ref):
    assert dict(ref.key_project.five_ones) == {
        "leader": "一名领导", "task_force": "一个专班", "plan": "一套方案",
    }  # fmt: skip


def test_the_packaged_reference_is_loaded_once():
    assert reference() is reference()


# Broken files ----------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    return copy


def corrupt(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_intact_copy_of_the_data_loads(data_dir):
    assert len(load_reference(data_dir).prefectures) == 17


BROKEN = {
    "duplicate region code": (
        "regions.csv", "420102,江岸区", "420103,江岸区", "line 5: duplicate code '420103'"
    ),
    "county under a county": (
        "regions.csv", "420102,江岸区,county,420100", "420102,江岸区,county,420103",
        "'420103' is not a prefecture",
    ),
    "prefecture pointing elsewhere": (
        "regions.csv", "420200,黄石市,prefecture,420200", "420200,黄石市,prefecture,420100",
        "must be its own code",
    ),
    "code outside Hubei": ("regions.csv", "420102,", "110102,", "not a Hubei GB/T 2260 code"),
    "unknown level": ("regions.csv", "420102,江岸区,county", "420102,江岸区,district", "'level'"),
    "duplicate department key": (
        "departments.yaml", "key: taiban,", "key: waiban,", "row 2 (waiban): duplicate key"
    ),
    "department named twice": (
        "departments.yaml", "name: 省委台办", "name: 省委外办", "duplicate name '省委外办'"
    ),
    "named_in disagreeing with 附件2": (
        "departments.yaml", "name: 省体育局, named_in: [附件2]",
        "name: 省体育局, named_in: [附件1]", "department tiyu: named_in disagrees",
    ),
    "unknown department in an industry": (
        "industries.yaml", "departments: [weijian, wenlv]", "departments: [weijian, wenhua]",
        "(health_wellness): department 'wenhua' is not in departments.yaml",
    ),
    "duplicate industry key": (
        "industries.yaml", "key: digital,", "key: automotive,", "duplicate industry key"
    ),
    "trip quota that is not a number": (
        "leaders.yaml", "yearly_trips: 6", "yearly_trips: six",
        "(investment_lead): field 'yearly_trips'",
    ),
    "project size as a float": (
        "leaders.yaml", 'planned_project_yi: "30"', "planned_project_yi: 30.0", "floats are inexact"
    ),
    "exempt region that does not exist": (
        "leaders.yaml", 'trip_quota_exempt: ["429021"]', 'trip_quota_exempt: ["429099"]',
        "'429099' is not a region",
    ),
    "bad deadline": (
        "tasks.yaml", 'deadline: "2020-05"', 'deadline: "2020-13"',
        "(submit_member_info): deadline '2020-13' is not a month",
    ),
    "unknown responsibility rule": (
        "tasks.yaml", "responsible: departments_attachment1",
        "responsible: departments_attachment3", "'responsible'",
    ),
    "misspelt optional field": (
        "departments.yaml", "aliases: [省交通厅]", "alias: [省交通厅]",
        "(jiaotong): unknown field(s) ['alias']",
    ),
    "department written by name": (
        "matters.yaml", "responsible: [fagai, jingxin]", "responsible: [省发改委, jingxin]",
        "(guangdong-01): responsible '省发改委': write it as 'fagai'",
    ),
    "prefecture government written by name": (
        "matters.yaml", 'responsible: ["420100", "420700"]',
        'responsible: [武汉市政府, "420700"]', "write it as '420100'",
    ),
    "responsible county": (
        "matters.yaml", 'responsible: ["420100", "420700"]', 'responsible: ["420102"]',
        "neither a department key nor a 市州 code",
    ),
    "unknown theme": (
        "matters.yaml", "theme: 科教人才等方面\n", "theme: 人才等方面\n", "theme '人才等方面'"
    ),
    "duplicate matter id": (
        "matters.yaml", "id: guangdong-02", "id: guangdong-01", "duplicate matter id"
    ),
    "threshold as a float": (
        "key_project.yaml", 'min_total_investment_yi: "20"', "min_total_investment_yi: 20.0",
        "floats are inexact",
    ),
    "file without a source": ("key_project.yaml", "source:", "origin:", "'source' is missing"),
    "invalid YAML": ("matters.yaml", "matters:\n", "matters: [\n", "not valid YAML"),
}  # fmt: skip


@pytest.mark.parametrize(("file", "old", "new", "problem"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_file_is_refused_naming_the_file_row_and_problem(
    data_dir, file, old, new, problem
):
    corrupt(data_dir / file, old, new)
    with pytest.raises(ReferenceDataError) as refused:
        load_reference(data_dir)
    assert refused.value.file == file
    assert str(refused.value).startswith(file)
    assert problem in str(refused.value)


def test_a_missing_file_is_refused_by_name(data_dir):
    (data_dir / "tasks.yaml").unlink()
    with pytest.raises(ReferenceDataError, match=r"^tasks\.yaml: file is missing"):
        load_reference(data_dir)


def test_a_regions_file_without_its_source_comment_is_refused(data_dir):
    path = data_dir / "regions.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[1:]), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=r"^regions\.csv: no `#` comment"):
        load_reference(data_dir)
