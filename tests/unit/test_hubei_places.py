"""赴省外 (二十一) against 外出 (二十二): a government leader's trip to any Hubei place the
reference data names is refused with `destination_in_hubei`; a department leader's trip counts
wherever it goes. In memory: the reference data's place names, and tracking as a sender speaks
to it.
"""

from __future__ import annotations

import pytest

from services.kernel.reference import reference
from tests.unit.test_tracking_application import HUANGSHI, WUHAN, Tracking


@pytest.mark.parametrize(
    ("destination", "place"),
    [
        ("武汉市东湖高新区", "武汉市"),
        ("宜昌", "宜昌市"),
        ("Wuhan, Hubei", "武汉市"),
        ("恩施", "恩施土家族苗族自治州"),
        ("恩施州", "恩施土家族苗族自治州"),
        ("长阳", "长阳土家族自治县"),
        ("房县", "房县"),
        ("YICHANG", "宜昌市"),
        ("Wu Han", "武汉市"),
        ("Shennongjia", "神农架林区"),
        ("Jiangxia District", "江夏区"),
        ("湖北省", "湖北省"),
        ("hubei province", "湖北省"),
        ("CN-42", "湖北省"),
        ("420500", "宜昌市"),
    ],
)
def test_every_hubei_place_the_reference_data_names_is_recognised(destination, place):
    assert reference().places.named_in(destination) == place


@pytest.mark.parametrize(
    "destination",
    ["上海市", "广东省深圳市", "湖南省华容县", "Qianjiang, Chongqing", "Tokyo, Japan", "CN-44"],
)
def test_a_place_in_another_province_is_outside_even_where_it_shares_a_hubei_name(destination):
    # 湖南省华容县 shares its name with 鄂州市华容区, 重庆黔江 its pinyin with 潜江
    assert reference().places.named_in(destination) is None


@pytest.mark.parametrize("destination", ["武汉市东湖高新区", "宜昌", "Wuhan, Hubei", "恩施"])
def test_a_government_leaders_trip_to_a_hubei_place_is_refused_naming_the_place(destination):
    tracking = Tracking()
    tracking.registry.leader("huangshi-mayor", HUANGSHI)

    refused = tracking.trip("huangshi-mayor", "2020-03-01", "2020-03-02", destination=destination)

    assert (refused["status"], refused["rule"]) == ("rejected", "destination_in_hubei")
    [error] = refused["errors"]
    assert error["field"] == "payload.destination"
    assert destination in error["message_zh"] and "（二十一）" in error["message_zh"]


def test_a_department_leaders_trip_counts_wherever_it_goes_22():
    """(二十二): 相关部门负责人外出招商引资 — 外出, not 赴省外: a provincial department's trip to
    宜昌 or a 市州 department head's trip to 恩施 counts."""
    tracking = Tracking()
    tracking.registry.leader("jingxin-head", "dept:jingxin", "department_head")
    tracking.registry.leader("wuhan-commerce-head", WUHAN, "department_head")

    provincial = tracking.trip("jingxin-head", "2020-03-01", "2020-03-02", destination="宜昌")
    municipal = tracking.trip("wuhan-commerce-head", "2020-03-01", "2020-03-02", destination="恩施")

    assert (provincial["status"], municipal["status"]) == ("accepted", "accepted")
