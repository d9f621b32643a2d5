"""Who and what the demo quarter is made of: how each 市州 does, the investors, the kinds of
project and the projects the plan names (附件4), where leaders travel, and the words of the
reports. Names of people and of smaller companies are made up; the large investors are the
ones the plan names (附件4) or well-known groups. The load generator draws from these too.
"""

from __future__ import annotations

from dataclasses import dataclass

# 自贸试验区 (十一) has areas in 武汉、襄阳、宜昌 only.
FREE_TRADE_ZONE_PREFECTURES = frozenset({"420100", "420600", "420500"})


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


def template(stem: str) -> Template:
    return next(t for t in TEMPLATES if t.stem == stem)


NAMED = (
    Named("420111", "腾讯（武汉）数字产业总部项目", template("数字经济产业园"), "tencent", "30"),
    Named("420114", "中法武汉生态示范城智慧城市项目", template("智慧城市建设"), "psa", "12"),
    Named("420606", "襄阳华为鲲鹏生态产业园项目", template("鲲鹏生态产业园"), "huawei", "25"),
    Named("420500", "宜昌华为智慧城市及平安城市项目", template("智慧城市建设"), "huawei", "8"),
    Named("420703", "鄂州花湖机场顺丰国际枢纽货站项目", template("智能仓储配送中心"), "sf", "60"),
    Named("420703", "顺丰飞机机身维修基地项目", template("航空零部件制造"), "sf", "15"),
    Named("420702", "梁子湖宝能生态文旅康养项目", template("康养特色小镇"), "baoneng", "45"),
    Named("420923", "云梦古镇文旅项目", template("文旅综合体"), "meili", "35", "commissioned"),
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
