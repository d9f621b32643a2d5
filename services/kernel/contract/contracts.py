"""Public contract v1 at the boundary (DESIGN §4, docs/CONTRACT.md): what a report must look like.

`validate_report(raw)` turns one raw report (parsed JSON) into a `Report` of Python values
(Decimal, date) or raises `ReportInvalid` listing every `FieldError` found, each naming the field,
the value and the rule, in Chinese and English (DESIGN §5.7). Shape and reference-data checks
live here; rules that need stored state (a project exists, a source's jurisdiction) belong to the
owning service's domain, which reports them with `error(...)` in the same shape.

Every marshmallow message below is a `Violation` (a rule code and its parameters) rather than
English text, so one table, `MESSAGES`, words every error in both languages. Schemas are built
once at import; reference data is looked up on first use.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

from marshmallow import Schema, ValidationError, fields, validates_schema
from marshmallow.exceptions import SCHEMA

from services.kernel.contract.calendar import shanghai_today
from services.kernel.contract.errors import FieldError, ReportInvalid, clip, error, shown
from services.kernel.reference.reference import reference

SCHEMA_VERSION = 1
PLAN_START = date(2020, 1, 1)
FUTURE_TOLERANCE = timedelta(days=1)
MAX_AMOUNT = Decimal(10000)  # 亿元, i.e. 1 万亿: larger is a report in 元 by mistake
AMOUNT_PLACES = 4  # 0.0001 亿元 = 1 万元
SHORT_TEXT, LONG_TEXT = 200, 2000

OWNER: Mapping[str, str] = MappingProxyType(
    {
        "project.proposed": "registry",
        "project.tracking_started": "registry",
        "project.signed": "registry",
        "project.assigned": "registry",
        "project.corrected": "registry",
        "project.withdrawn": "registry",
        "project.company_registered": "tracking",
        "project.construction_started": "tracking",
        "project.production_started": "tracking",
        "project.capital_arrived": "tracking",
        "milestone.retracted": "tracking",
        "milestone.verified": "tracking",
        "milestone.rejected": "tracking",
        "leader.appointed": "registry",
        "leader.trip_completed": "tracking",
        "promotion.event_held": "tracking",
        "task.completed": "tracking",
        "matter.progress_reported": "tracking",
        "policy.adopted": "scoring",
    }
)
EVENT_TYPES: tuple[str, ...] = tuple(OWNER)
MILESTONE_TYPES = frozenset(
    {
        "project.company_registered",
        "project.construction_started",
        "project.production_started",
        "project.capital_arrived",
    }
)

CATEGORIES = (
    "real_estate",
    "characteristic_town",
    "ppp_urban_infrastructure",
    "new_infrastructure",
    "modern_services",
    "functional_institution",
    "foreign_investment",
)
CHANNELS = (
    "alumni",
    "chushang_return",
    "finance",
    "commissioned",
    "free_trade_zone",
    "park",
    "platform_event",
    "other",
)
CORRECTABLE = (
    "name",
    "investor",
    "industry",
    "region",
    "total_investment",
    "categories",
    "channel",
    "planned_by_leader",
)
REGION_ROLES = ("principal", "investment_lead", "other")
DEPARTMENT_ROLES = ("department_head", "department_other")
CONSTRUCTION_KINDS = ("construction", "opening")
TARGET_REGIONS = ("greater_bay_area", "yangtze_delta", "beijing_tianjin_hebei", "other")
MATTER_STATUSES = ("in_progress", "done")

# GB 32100-2015: the 统一社会信用代码 alphabet (no I, O, S, V, Z) and the check-digit weights.
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


# Errors ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Violation:
    """A broken rule as marshmallow carries it; `params` values may be (zh, en) pairs."""

    rule: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def broken(rule: str, **params: Any) -> ValidationError:
    return ValidationError([Violation(rule, params)])


STRING = ("字符串", "a string")
OBJECT = ("JSON 对象", "a JSON object")
LIST = ("列表", "a list")
BOOLEAN = ("布尔值 true/false", "a boolean true/false")
INTEGER = ("整数", "an integer")

# rule -> (Chinese, English); placeholders: {field}, {value} (as sent), and the rule's params.
MESSAGES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "report_not_an_object": (
            "报告的值 {value} 不是 JSON 对象",
            "the report {value} is not a JSON object",
        ),
        "required": ("缺少必填字段 {field}", "{field} is required but missing"),
        "null_not_allowed": ("{field} 的值不能为 null", "{field} may not be null"),
        "invalid_type": (
            "{field} 的值 {value} 类型不对：应为{expected}",
            "{field}: {value} has the wrong type; expected {expected}",
        ),
        "invalid": ("{field} 的值 {value} 无效", "{field}: {value} is invalid"),
        "unknown_field": (
            "{field} 是未知字段（值 {value}）：v1 合同没有这个字段，请检查拼写",
            "{field} is an unknown field (value {value}): not in contract v1; check the spelling",
        ),
        "not_correctable": (
            "{field} 不能更正（值 {value}）：可更正的字段为 {allowed}",
            "{field} cannot be corrected (value {value}); correctable fields: {allowed}",
        ),
        "empty_changes": (
            "{field} 的值 {value} 为空：至少要更正一个字段",
            "{field} is {value}: a correction must change at least one field",
        ),
        "unknown_event_type": (
            "{field} 的值 {value} 不是 v1 合同中的报告类型（见 docs/CONTRACT.md）",
            "{field}: {value} is not a report type of contract v1 (see docs/CONTRACT.md)",
        ),
        "unsupported_schema_version": (
            "{field} 的值 {value} 不受支持：只接受 1",
            "{field}: {value} is not supported; only 1 is accepted",
        ),
        "unknown_source": (
            "{field} 的值 {value} 不是已知的报送系统：应为 office、pref:<市州代码>、"
            "county:<湖北县级代码> 或 dept:<部门键>",
            "{field}: {value} is not a known sending system; expected office, "
            "pref:<prefecture code>, county:<Hubei county code> or dept:<department key>",
        ),
        "date_format": (
            "{field} 的值 {value} 不是 ISO 日期 YYYY-MM-DD",
            "{field}: {value} is not an ISO date YYYY-MM-DD",
        ),
        "occurred_in_future": (
            "{field} 的值 {value} 晚于今天（北京时间 {today}）超过 1 天",
            "{field}: {value} is more than 1 day after today ({today}, Asia/Shanghai)",
        ),
        "before_plan_year": (
            "{field} 的值 {value} 早于 {earliest}，不在方案期内",
            "{field}: {value} is before {earliest}, outside the plan",
        ),
        "decimal_string_required": (
            '{field} 的值 {value} 是 JSON 数字：金额必须以字符串发送（单位亿元），例如 "25.5"',
            '{field}: {value} is a JSON number; send amounts as a string in 亿元, e.g. "25.5"',
        ),
        "not_a_decimal": (
            '{field} 的值 {value} 不是十进制数，例如 "25.5"',
            '{field}: {value} is not a decimal number such as "25.5"',
        ),
        "must_be_positive": (
            "{field} 的值 {value} 必须大于 0",
            "{field}: {value} must be greater than 0",
        ),
        "too_many_decimal_places": (
            "{field} 的值 {value} 超过 {places} 位小数",
            "{field}: {value} has more than {places} decimal places",
        ),
        "amount_too_large": (
            "{field} 的值 {value} 超过 {max} 亿元：金额单位是亿元，不是元",
            "{field}: {value} exceeds {max} (亿元); amounts are in 亿元, not yuan",
        ),
        "region_code_format": (
            "{field} 的值 {value} 不是 6 位行政区划代码（GB/T 2260）",
            "{field}: {value} is not a 6-digit region code (GB/T 2260)",
        ),
        "not_hubei_region": (
            "{field} 的值 {value} 不是湖北省行政区划代码（GB/T 2260）",
            "{field}: {value} is not a Hubei region code (GB/T 2260)",
        ),
        "not_prefecture": (
            "{field} 的值 {value} 不是湖北省 17 个市州之一的代码",
            "{field}: {value} is not the code of one of Hubei's 17 prefectures",
        ),
        "unit_format": (
            "{field} 的值 {value} 应为湖北省行政区划代码或 dept:<部门键>",
            "{field}: {value} should be a Hubei region code or dept:<department key>",
        ),
        "unknown_department": (
            "{field} 的值 {value} 不是已知的省有关部门",
            "{field}: {value} is not a known provincial department",
        ),
        "unknown_industry": (
            "{field} 的值 {value} 不是附件2 中的重点产业",
            "{field}: {value} is not an industry of attachment 2",
        ),
        "unknown_task": (
            "{field} 的值 {value} 不是附件3 中的任务",
            "{field}: {value} is not a task of attachment 3",
        ),
        "unknown_matter": (
            "{field} 的值 {value} 不是附件4 中的重点事项",
            "{field}: {value} is not a key matter of attachment 4",
        ),
        "not_one_of": (
            "{field} 的值 {value} 不在允许值之内：{allowed}",
            "{field}: {value} is not one of: {allowed}",
        ),
        "duplicate_item": (
            "{field} 的值 {value} 中 {item} 重复出现",
            "{field}: {value} lists {item} more than once",
        ),
        "key_format": (
            "{field} 的值 {value} 应为 1–40 个字母、数字、_ 或 -",
            "{field}: {value} should be 1-40 letters, digits, _ or -",
        ),
        "blank": ("{field} 的值 {value} 为空", "{field}: {value} is blank"),
        "too_long": (
            "{field} 的值 {value} 超过 {max} 个字符",
            "{field}: {value} is longer than {max} characters",
        ),
        "origin_format": (
            '{field} 的值 {value} 应为 ISO 3166 两位国家代码（如 "JP"）'
            '或 CN-<省级代码>（如 "CN-44"）',
            '{field}: {value} should be an ISO 3166 alpha-2 country ("JP") or CN-<province> '
            '("CN-44")',
        ),
        "destination_in_hubei": (
            "{field} 的值 {value} 在湖北省内：外出招商的目的地须在省外",
            "{field}: {value} is inside Hubei; a trip's destination must be outside the province",
        ),
        "credit_code_format": (
            "{field} 的值 {value} 不是 18 位统一社会信用代码"
            "（GB 32100-2015：数字及除 I、O、S、V、Z 外的大写字母）",
            "{field}: {value} is not an 18-character unified social credit code (GB 32100-2015: "
            "digits and capital letters except I, O, S, V, Z)",
        ),
        "credit_code_check_digit": (
            "{field} 的值 {value} 校验位错误（GB 32100-2015），按前 17 位应为 {expected}",
            "{field}: {value} has a wrong check digit (GB 32100-2015); the first 17 characters "
            "give {expected}",
        ),
        "uuid_format": ("{field} 的值 {value} 不是 UUID", "{field}: {value} is not a UUID"),
        "quarter_format": (
            '{field} 的值 {value} 应为季度，如 "2020Q3"',
            '{field}: {value} should be a quarter such as "2020Q3"',
        ),
        "returned_before_departed": (
            "{field} 的值 {value} 早于出发日期 {departed_on}",
            "{field}: {value} is before the departure date {departed_on}",
        ),
        "role_unit_mismatch": (
            "{field} 的值 {value} 与单位 {unit} 不符：应为 {allowed}",
            "{field}: {value} does not fit unit {unit}; expected one of {allowed}",
        ),
    }
)

_MISSING = object()


def _field_error(field: str, value: Any, violation: Violation) -> FieldError:
    missing = value is _MISSING
    text = "" if missing else shown(value)
    zh, en = MESSAGES[violation.rule]
    params = violation.params
    return error(
        field,
        "" if missing else value,
        violation.rule,
        zh.format(field=field, value=text, **{k: _lang(v, 0) for k, v in params.items()}),
        en.format(field=field, value=text, **{k: _lang(v, 1) for k, v in params.items()}),
    )


def _lang(param: Any, index: int) -> Any:
    return param[index] if isinstance(param, tuple) else param


def _child(data: Any, key: str | int) -> Any:
    if isinstance(data, Mapping):
        return data.get(key, _MISSING)
    if isinstance(data, list | tuple) and isinstance(key, int) and 0 <= key < len(data):
        return data[key]
    return _MISSING


def _field_errors(messages: Any, data: Any, path: str) -> list[FieldError]:
    """marshmallow's nested messages -> FieldErrors with dotted paths and the values sent."""
    if isinstance(messages, Mapping):
        found = []
        for key, inner in messages.items():
            if key == SCHEMA:
                found += _field_errors(inner, data, path)
            else:
                child = f"{path}.{key}" if path else str(key)
                found += _field_errors(inner, _child(data, key), child)
        return found
    if isinstance(messages, list):
        return [e for m in messages for e in _field_errors(m, data, path)]
    # Every message of ours is a Violation; should marshmallow word one itself, it still
    # becomes a FieldError rather than a crash on bad input.
    violation = messages if isinstance(messages, Violation) else Violation("invalid")
    return [_field_error(path, data, violation)]


# Fields ------------------------------------------------------------------------------------


class _Lookups(NamedTuple):
    """The reference data the fields check against, as sets: one membership test each."""

    is_hubei: Callable[[str], bool]
    prefectures: frozenset[str]
    counties: frozenset[str]
    departments: frozenset[str]
    industries: frozenset[str]
    tasks: frozenset[str]
    matters: frozenset[str]


@functools.cache
def _lookups() -> _Lookups:
    ref = reference()
    return _Lookups(
        is_hubei=ref.is_hubei_region,
        prefectures=frozenset(p.code for p in ref.prefectures),
        counties=frozenset(c.code for p in ref.prefectures for c in ref.counties_of(p.code)),
        departments=frozenset(ref.departments),
        industries=frozenset(ref.industries),
        tasks=frozenset(ref.tasks),
        matters=frozenset(ref.matters),
    )


_FIELD_MESSAGES = MappingProxyType(
    {
        "required": Violation("required"),
        "null": Violation("null_not_allowed"),
        "validator_failed": Violation("invalid"),
    }
)


class _Field(fields.Field):
    """A field whose marshmallow messages are Violations; `_check` turns a JSON value into ours."""

    default_error_messages: ClassVar[Mapping[str, Any]] = _FIELD_MESSAGES
    expected_type: tuple[type, ...] = (str,)
    expected = STRING

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, self.expected_type) or (
            isinstance(value, bool) and bool not in self.expected_type
        ):
            raise broken("invalid_type", expected=self.expected)
        return self._check(value)

    def _check(self, value: Any) -> Any:
        return value


class Text(_Field):
    def __init__(self, max_length: int = SHORT_TEXT, **kwargs: Any):
        super().__init__(**kwargs)
        self.max_length = max_length

    def _check(self, value: str) -> str:
        if not value.strip():
            raise broken("blank")
        if len(value) > self.max_length:
            raise broken("too_long", max=self.max_length)
        return value


class Flag(_Field):
    expected_type = (bool,)
    expected = BOOLEAN


class Pattern(_Field):
    """A string matching `pattern` in full; otherwise `rule`."""

    def __init__(self, pattern: str, rule: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.pattern = re.compile(pattern, re.ASCII)
        self.rule = rule

    def _check(self, value: str) -> str:
        if self.pattern.fullmatch(value) is None:
            raise broken(self.rule)
        return value


def Key(**kwargs: Any) -> Pattern:
    return Pattern(r"[A-Za-z0-9_-]{1,40}", "key_format", **kwargs)


class Choice(_Field):
    def __init__(self, choices: tuple[str, ...], rule: str = "not_one_of", **kwargs: Any):
        super().__init__(**kwargs)
        self.choices = frozenset(choices)
        self.allowed = ", ".join(choices)
        self.rule = rule

    def _check(self, value: str) -> str:
        if value not in self.choices:
            raise broken(self.rule, allowed=self.allowed)
        return value


class Known(_Field):
    """A key of one of the reference tables (industries, tasks, matters)."""

    def __init__(self, table: str, rule: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.table = table
        self.rule = rule

    def _check(self, value: str) -> str:
        if value not in getattr(_lookups(), self.table):
            raise broken(self.rule)
        return value


_REGION_CODE = re.compile(r"[0-9]{6}", re.ASCII)


def check_hubei_region(code: str) -> str:
    if _REGION_CODE.fullmatch(code) is None:
        raise broken("region_code_format")
    if not _lookups().is_hubei(code):
        raise broken("not_hubei_region")
    return code


class HubeiRegion(_Field):
    """A GB/T 2260 code of a Hubei prefecture or county."""

    def _check(self, value: str) -> str:
        return check_hubei_region(value)


class Prefecture(_Field):
    """One of the 17 市州."""

    def _check(self, value: str) -> str:
        if value not in _lookups().prefectures:
            raise broken("not_prefecture")
        return value


class Unit(_Field):
    """A reporting unit: a Hubei region (its government) or `dept:<key>` (a department)."""

    def _check(self, value: str) -> str:
        if value.startswith("dept:"):
            if value[5:] not in _lookups().departments:
                raise broken("unknown_department")
            return value
        if _REGION_CODE.fullmatch(value) is None:
            raise broken("unit_format")
        return check_hubei_region(value)


def is_known_source(value: str) -> bool:
    """office, pref:<市州>, county:<Hubei county> or dept:<department> (ARCHITECTURE
    "Identities")."""
    kind, _, key = value.partition(":")
    known = _lookups()
    return (
        value == "office"
        or (kind == "pref" and key in known.prefectures)
        or (kind == "county" and key in known.counties)
        or (kind == "dept" and key in known.departments)
    )


class Source(_Field):
    """The sending system: office, pref:<市州>, county:<county>, dept:<department>."""

    def _check(self, value: str) -> str:
        if is_known_source(value):
            return value
        raise broken("unknown_source")


class Decimal100M(_Field):
    """An amount in 亿元 (100 million yuan), sent as a decimal string, loaded as a Decimal."""

    pattern = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise broken("decimal_string_required")
        return super()._deserialize(value, attr, data, **kwargs)

    def _check(self, value: str) -> Decimal:
        if self.pattern.fullmatch(value) is None:
            raise broken("not_a_decimal")
        amount = Decimal(value).normalize()
        if amount <= 0:
            raise broken("must_be_positive")
        exponent = int(amount.as_tuple().exponent)  # finite: the pattern admits no NaN, Infinity
        if -exponent > AMOUNT_PLACES:
            raise broken("too_many_decimal_places", places=AMOUNT_PLACES)
        if amount > MAX_AMOUNT:
            raise broken("amount_too_large", max=MAX_AMOUNT)
        return amount if exponent <= 0 else amount.quantize(Decimal(1))


class IsoDate(_Field):
    pattern = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)

    def __init__(self, earliest: date | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.earliest = earliest

    def _check(self, value: str) -> date:
        try:
            day = date.fromisoformat(value) if self.pattern.fullmatch(value) else None
        except ValueError:
            day = None
        if day is None:
            raise broken("date_format")
        if self.earliest is not None and day < self.earliest:
            raise broken("before_plan_year", earliest=self.earliest.isoformat())
        return day


class Uuid(_Field):
    """A UUID in any form `uuid.UUID` reads; loaded as a UUID, or its canonical text."""

    def __init__(self, as_text: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.as_text = as_text

    def _check(self, value: str) -> uuid.UUID | str:
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            raise broken("uuid_format") from None
        return str(parsed) if self.as_text else parsed


class SchemaVersion(_Field):
    expected_type = (int,)
    expected = INTEGER

    def _check(self, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise broken("unsupported_schema_version")
        return value


class CreditCode(_Field):
    """统一社会信用代码 (GB 32100-2015): 18 characters, the last a mod-31 check character."""

    def _check(self, value: str) -> str:
        if len(value) != 18 or not all(c in CREDIT_CODE_CHARSET for c in value):
            raise broken("credit_code_format")
        expected = credit_code_check_character(value[:17])
        if value[17] != expected:
            raise broken("credit_code_check_digit", expected=expected)
        return value


def credit_code_check_character(first17: str) -> str:
    total = sum(
        CREDIT_CODE_CHARSET.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


class Destination(Text):
    """Where an out-of-province trip went: a place's name, a country or a CN-<province> code."""

    def _check(self, value: str) -> str:
        value = super()._check(value)
        if value.startswith(("湖北", "CN-42")) or (
            _REGION_CODE.fullmatch(value) is not None and _lookups().is_hubei(value)
        ):
            raise broken("destination_in_hubei")
        return value


class AnyObject(_Field):
    """A JSON object, taken as it is (the payload before its type is known)."""

    expected_type = (Mapping,)
    expected = OBJECT


class OwnObject(AnyObject):
    """A JSON object copied whole (a policy: its content is scoring's to validate)."""

    def _check(self, value: Mapping) -> dict:
        return copy.deepcopy(dict(value))


class Obj(fields.Nested):
    default_error_messages: ClassVar[Mapping[str, Any]] = _FIELD_MESSAGES


class ListOf(fields.List):
    """A JSON list; with `distinct`, an item may appear once."""

    default_error_messages: ClassVar[Mapping[str, Any]] = {
        **_FIELD_MESSAGES,
        "invalid": Violation("invalid_type", {"expected": LIST}),
    }

    def __init__(self, inner: fields.Field, distinct: bool = False, **kwargs: Any):
        super().__init__(inner, **kwargs)
        self.distinct = distinct

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list:
        if not isinstance(value, list):
            raise self.make_error("invalid")
        items = super()._deserialize(value, attr, data, **kwargs)
        if self.distinct:
            seen: set = set()
            for item in items:
                if item in seen:
                    raise broken("duplicate_item", item=shown(item))
                seen.add(item)
        return items


# Schemas -----------------------------------------------------------------------------------


class Strict(Schema):
    """Unknown fields are refused: a typo must not pass silently."""

    error_messages: ClassVar[dict[str, Any]] = {
        "type": Violation("invalid_type", {"expected": OBJECT}),
        "unknown": Violation("unknown_field"),
    }


class Envelope(Strict):
    event_id = Uuid(required=True)
    type = Choice(EVENT_TYPES, rule="unknown_event_type", required=True)
    source = Source(required=True)
    occurred_on = IsoDate(earliest=PLAN_START, required=True)
    schema_version = SchemaVersion(required=True)
    payload = AnyObject(required=True)


class Investor(Strict):
    name = Text(required=True)
    origin = Pattern(r"[A-Z]{2}|CN-[0-9]{2}", "origin_format", required=True)
    fortune_global_500 = Flag(load_default=False)
    china_top_500 = Flag(load_default=False)


class ProjectFacts(Strict):
    """The facts of a project (二); also what project.corrected may change."""

    name = Text(required=True)
    investor = Obj(Investor, required=True)
    industry = Known("industries", "unknown_industry", required=True)
    region = HubeiRegion(required=True)
    total_investment = Decimal100M(required=True)
    categories = ListOf(Choice(CATEGORIES), distinct=True, load_default=list)
    channel = Choice(CHANNELS, required=True)
    # Optional, added in v1 (fields can be added): the leader (leader_id) who planned this as
    # their major project ((二十一), (二十二)). No default, so a report without it keeps its digest.
    planned_by_leader = Key()


class Changes(ProjectFacts):
    error_messages: ClassVar[dict[str, Any]] = {
        "unknown": Violation("not_correctable", {"allowed": ", ".join(CORRECTABLE)})
    }


def _not_empty(changes: Mapping) -> None:
    if not changes:
        raise broken("empty_changes")


class OnProject(Strict):
    project_code = Key(required=True)


class ProjectProposed(ProjectFacts, OnProject):
    pass


class ProjectSigned(OnProject):
    contract_investment = Decimal100M(required=True)


class ProjectAssigned(OnProject):
    leader = Text(required=True)
    task_force = Text(required=True)
    plan = Text(LONG_TEXT, required=True)


class ProjectCorrected(OnProject):
    # A partial over exactly the correctable fields: each present one is checked as in
    # project.proposed, nested objects (investor) in full.
    changes = Obj(Changes(partial=CORRECTABLE), required=True, validate=_not_empty)
    reason = Text(LONG_TEXT, required=True)


class WithReason(OnProject):
    reason = Text(LONG_TEXT, required=True)


class CompanyRegistered(OnProject):
    credit_code = CreditCode(required=True)
    company_name = Text(required=True)


class ConstructionStarted(OnProject):
    kind = Choice(CONSTRUCTION_KINDS, required=True)


class CapitalArrived(OnProject):
    amount = Decimal100M(required=True)


class OnMilestone(Strict):
    milestone_event_id = Uuid(as_text=True, required=True)


class MilestoneWithReason(OnMilestone):
    reason = Text(LONG_TEXT, required=True)


class LeaderAppointed(Strict):
    leader_id = Key(required=True)
    name = Text(required=True)
    unit = Unit(required=True)
    role = Choice(REGION_ROLES + DEPARTMENT_ROLES, required=True)

    @validates_schema
    def _role_fits_unit(self, data: Mapping, **_: Any) -> None:
        # A provincial department has no government roles; a region's unit may name a leader of
        # one of its own departments (二十二) as well as its government's (二十一).
        if data["unit"].startswith("dept:") and data["role"] not in DEPARTMENT_ROLES:
            raise ValidationError(
                [
                    Violation(
                        "role_unit_mismatch",
                        {"unit": data["unit"], "allowed": ", ".join(DEPARTMENT_ROLES)},
                    )
                ],
                field_name="role",
            )


class TripCompleted(Strict):
    leader_id = Key(required=True)
    destination = Destination(required=True)
    departed_on = IsoDate(required=True)
    returned_on = IsoDate(required=True)
    companies_met = ListOf(Text(), required=True)

    @validates_schema
    def _returned_after_departed(self, data: Mapping, **_: Any) -> None:
        if data["returned_on"] < data["departed_on"]:
            raise ValidationError(
                [
                    Violation(
                        "returned_before_departed",
                        {"departed_on": data["departed_on"].isoformat()},
                    )
                ],
                field_name="returned_on",
            )


class EventHeld(Strict):
    unit = Prefecture(required=True)
    target_region = Choice(TARGET_REGIONS, required=True)
    title = Text(required=True)


class TaskCompleted(Strict):
    task_id = Known("tasks", "unknown_task", required=True)
    unit = Unit(required=True)


class MatterProgressReported(Strict):
    matter_id = Known("matters", "unknown_matter", required=True)
    unit = Unit(required=True)
    progress = Text(LONG_TEXT, required=True)
    status = Choice(MATTER_STATUSES, required=True)


class PolicyAdopted(Strict):
    """Only the wrapping: the policy's content is validated by scoring."""

    version = Text(40, required=True)
    effective_from = Pattern(r"[0-9]{4}Q[1-4]", "quarter_format", required=True)
    policy = OwnObject(required=True)


ENVELOPE = Envelope()
PAYLOADS: Mapping[str, Schema] = MappingProxyType(
    {
        "project.proposed": ProjectProposed(),
        "project.tracking_started": OnProject(),
        "project.signed": ProjectSigned(),
        "project.assigned": ProjectAssigned(),
        "project.corrected": ProjectCorrected(),
        "project.withdrawn": WithReason(),
        "project.company_registered": CompanyRegistered(),
        "project.construction_started": ConstructionStarted(),
        "project.production_started": OnProject(),
        "project.capital_arrived": CapitalArrived(),
        "milestone.retracted": MilestoneWithReason(),
        "milestone.verified": OnMilestone(),
        "milestone.rejected": MilestoneWithReason(),
        "leader.appointed": LeaderAppointed(),
        "leader.trip_completed": TripCompleted(),
        "promotion.event_held": EventHeld(),
        "task.completed": TaskCompleted(),
        "matter.progress_reported": MatterProgressReported(),
        "policy.adopted": PolicyAdopted(),
    }
)


# Reports -----------------------------------------------------------------------------------


def _primitive(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _primitive(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_primitive(v) for v in value]
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Report:
    """A validated report. `payload` holds Decimals and dates; treat it as read-only."""

    event_id: uuid.UUID
    type: str
    source: str
    occurred_on: date
    schema_version: int
    payload: Mapping[str, Any]

    def __hash__(self) -> int:
        return hash(self.event_id)

    def to_primitive(self) -> dict:
        """JSON-safe: Decimals as strings (never floats), dates as ISO strings, UUIDs as text."""
        return {
            "event_id": str(self.event_id),
            "type": self.type,
            "source": self.source,
            "occurred_on": self.occurred_on.isoformat(),
            "schema_version": self.schema_version,
            "payload": _primitive(self.payload),
        }

    def digest(self) -> str:
        """sha256 of the canonical JSON: equal content, equal digest (a resend is a duplicate)."""
        text = json.dumps(
            self.to_primitive(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_primitive(cls, data: Mapping) -> Report:
        """The report `to_primitive` gave, typed again without validating it a second time.

        For the services' side of the bus: what reaches them was validated by the gateway, the
        one way reports enter (validation is most of the gateway's work and would be most of
        a service's). Anything from outside goes through `validate_report`.
        """
        payload = dict(data["payload"])
        _retype(payload, _TYPED.get(data["type"], {}))
        return Report(
            event_id=uuid.UUID(data["event_id"]),
            type=data["type"],
            source=data["source"],
            occurred_on=date.fromisoformat(data["occurred_on"]),
            schema_version=data["schema_version"],
            payload=payload,
        )


# Field -> how its validated value is rebuilt from its primitive form (None: as it is).
Retype = Callable[[Any], Any]


def _retyping(field: fields.Field) -> Retype | None:
    if isinstance(field, Decimal100M):
        return Decimal
    if isinstance(field, IsoDate):
        return date.fromisoformat
    if isinstance(field, Uuid):
        return None if field.as_text else uuid.UUID
    if isinstance(field, fields.Nested):
        nested = _retypings(field.schema)
        return (lambda value: _retype(dict(value), nested)) if nested else None
    if isinstance(field, fields.List):
        inner = _retyping(field.inner)
        return (lambda value: [inner(item) for item in value]) if inner else None
    return None


def _retypings(schema: Schema) -> dict[str, Retype]:
    found = ((name, _retyping(field)) for name, field in schema.fields.items())
    return {name: retype for name, retype in found if retype is not None}


def _retype(values: dict, retypings: Mapping[str, Retype]) -> dict:
    for name, retype in retypings.items():
        if values.get(name) is not None:
            values[name] = retype(values[name])
    return values


_TYPED: Mapping[str, dict[str, Retype]] = MappingProxyType(
    {kind: _retypings(schema) for kind, schema in PAYLOADS.items()}
)


def validate_report(raw: Mapping, *, today: date | None = None) -> Report:
    """A Report, or ReportInvalid with every error found in the envelope and the payload."""
    if not isinstance(raw, Mapping):
        raise ReportInvalid([_field_error("", raw, Violation("report_not_an_object"))])
    errors: list[FieldError] = []
    try:
        envelope = ENVELOPE.load(raw)
    except ValidationError as invalid:
        envelope = invalid.valid_data or {}
        errors += _field_errors(invalid.messages, raw, "")
    occurred_on = envelope.get("occurred_on")
    if occurred_on is not None:
        today = today or shanghai_today()
        if occurred_on > today + FUTURE_TOLERANCE:
            errors.append(
                _field_error(
                    "occurred_on",
                    raw["occurred_on"],
                    Violation("occurred_in_future", {"today": today.isoformat()}),
                )
            )
    payload = envelope.get("payload")
    schema = PAYLOADS.get(envelope.get("type", ""))
    if schema is not None and payload is not None:
        try:
            payload = schema.load(payload)
        except ValidationError as invalid:
            errors += _field_errors(invalid.messages, raw["payload"], "payload")
    if errors:
        raise ReportInvalid(errors, _readable_event_id(envelope, raw))
    return Report(
        event_id=envelope["event_id"],
        type=envelope["type"],
        source=envelope["source"],
        occurred_on=envelope["occurred_on"],
        schema_version=envelope["schema_version"],
        payload=payload,
    )


def _readable_event_id(envelope: Mapping, raw: Mapping) -> str | None:
    """The event_id to answer under: canonical if it is a UUID, else as sent if it is text."""
    if "event_id" in envelope:
        return str(envelope["event_id"])
    sent = raw.get("event_id")
    return clip(sent) if isinstance(sent, str) and sent else None
