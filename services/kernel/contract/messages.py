"""Every contract error in both languages: a broken rule is a `Violation` (a rule code and its
parameters), and one table, `MESSAGES`, words each rule in Chinese and English.

The custom fields raise Violations instead of marshmallow's English text; `field_errors` turns
marshmallow's nested messages into `FieldError`s naming the field (a dotted path), the value as
sent and the rule (docs/DECISIONS.md "Errors name the field, the value and the rule").
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from marshmallow import ValidationError
from marshmallow.exceptions import SCHEMA

from services.kernel.contract.characters import printable
from services.kernel.contract.errors import FieldError, clip, error, shown
from services.kernel.contract.vocabulary import MAX_ERRORS


@dataclass(frozen=True, slots=True)
class Violation:
    """A broken rule as marshmallow carries it; `params` values may be (zh, en) pairs."""

    rule: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def broken(rule: str, **params: Any) -> ValidationError:
    return ValidationError([Violation(rule, params)])


# The JSON types an `invalid_type` message names as {expected}.
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
            "county:<湖北县级代码>、dept:<部门键> 或 org:<附件4单位键>",
            "{field}: {value} is not a known sending system; expected office, "
            "pref:<prefecture code>, county:<Hubei county code>, dept:<department key> or "
            "org:<attachment-4 organisation key>",
        ),
        "date_format": (
            "{field} 的值 {value} 不是 ISO 日期 YYYY-MM-DD",
            "{field}: {value} is not an ISO date YYYY-MM-DD",
        ),
        "occurred_in_future": (
            "{field} 的值 {value} 晚于今天（北京时间 {today}）超过 1 天",
            "{field}: {value} is more than 1 day after today ({today}, Asia/Shanghai)",
        ),
        "before_earliest_date": (
            "{field} 的值 {value} 早于 {earliest}：不接受更早的业务日期",
            "{field}: {value} is before {earliest}, the earliest business date accepted",
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
        "unknown_organisation": (
            "{field} 的值 {value} 不是附件4 中的责任单位（如 org:wuhan_railway 武汉铁路局）",
            "{field}: {value} is not an organisation attachment 4 makes responsible (such as "
            "org:wuhan_railway)",
        ),
        "unknown_industry": (
            "{field} 的值 {value} 既不是附件2 中的重点产业，也不是国民经济行业分类"
            "（GB/T 4754-2017）的门类或大类（如 gbt4754-14 食品制造业）",
            "{field}: {value} is neither an industry of attachment 2 nor a GB/T 4754-2017 "
            "section or division (such as gbt4754-14, food manufacturing)",
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
        "reported_before_return": (
            "{field} 的值 {value} 晚于报告日期 occurred_on {occurred_on}：行程结束后才能报告",
            "{field}: {value} is after the report's occurred_on {occurred_on}; a trip is "
            "reported once it is over",
        ),
        "trip_in_future_quarter": (
            "{field} 的值 {value} 在 {quarter}，晚于本季度（北京时间今天 {today}）：不能提前报告",
            "{field}: {value} falls in {quarter}, after the current quarter (today is {today}, "
            "Asia/Shanghai); a trip cannot be reported ahead",
        ),
        # Text (characters.py): {char} is U+XXXX, {position} counts characters from 1.
        "lone_surrogate": (
            "{field} 的值 {value} 第 {position} 个字符是孤立代理项 {char}：不是合法的 Unicode 文本",
            "{field}: {value} holds a lone surrogate {char} at character {position}; not valid "
            "Unicode text",
        ),
        "control_character": (
            "{field} 的值 {value} 第 {position} 个字符是控制字符 {char}"
            "（长文本只允许换行和制表符）",
            "{field}: {value} holds control character {char} at character {position} (long "
            "text allows newline and tab only)",
        ),
        "bidi_control": (
            "{field} 的值 {value} 第 {position} 个字符是双向文本控制符 {char}："
            "会改变文字的显示顺序",
            "{field}: {value} holds bidirectional control {char} at character {position}; it "
            "reorders what a reader sees",
        ),
        "noncharacter": (
            "{field} 的值 {value} 第 {position} 个字符是 Unicode 非字符 {char}",
            "{field}: {value} holds the Unicode noncharacter {char} at character {position}",
        ),
        "zero_width_only": (
            "{field} 的值 {value} 只有零宽或不可见字符，没有可见内容",
            "{field}: {value} holds only zero-width or invisible characters, nothing visible",
        ),
        # Bounds (bounds.py, jsontext.py), checked before the work they bound.
        "sha256_format": (
            "{field} 的值 {value} 不是 64 位小写十六进制的 SHA-256",
            "{field}: {value} is not a SHA-256 in 64 lowercase hex digits",
        ),
        "evidence_size": (
            "{field} 的值 {value} 应为 1 至 {max} 字节",
            "{field}: {value} must be from 1 to {max} bytes",
        ),
        "too_many_items": (
            "{field} 的值 {value} 超过 {max} 项",
            "{field}: {value} has more than {max} items",
        ),
        "too_deep": (
            "{field} 的值 {value} 嵌套超过 {max} 层",
            "{field}: {value} is nested more than {max} levels deep",
        ),
        "too_large": (
            "{field} 的值 {value} 按 JSON 计超过 {max} 字节",
            "{field}: {value} is larger than {max} bytes as JSON",
        ),
        "number_too_large": (
            "{field} 的值 {value} 是过长的数字：JSON 数字最多 {max} 个字符",
            "{field}: {value} is too long a number; a JSON number has at most {max} characters",
        ),
        "not_json_value": (
            "{field} 的值 {value} 不是 JSON 值（字符串、有限数字、true/false、null、对象或列表）",
            "{field}: {value} is not a JSON value (string, finite number, true/false, null, "
            "object or list)",
        ),
        "not_json": (
            "{field} 的值 {value} 不是合法的 UTF-8 JSON：{reason}",
            "{field}: {value} is not valid UTF-8 JSON: {reason}",
        ),
        "duplicate_key": (
            "{field} 中同一对象的键 {value} 出现不止一次",
            "{field}: the key {value} appears more than once in one object",
        ),
        "more_errors": (
            "另有 {count} 个错误未列出：请先改正上面的错误",
            "and {count} more errors: correct those above first",
        ),
        "role_unit_mismatch": (
            "{field} 的值 {value} 与单位 {unit} 不符：应为 {allowed}",
            "{field}: {value} does not fit unit {unit}; expected one of {allowed}",
        ),
    }
)

_MISSING = object()


def field_error(field: str, value: Any, violation: Violation) -> FieldError:
    field = clip(printable(field))  # a path may hold a sender's key of any length
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


class Found(NamedTuple):
    """A broken rule before it is worded: where, the value sent, and the Violation."""

    field: str
    value: Any
    violation: Violation


def violations(messages: Any, data: Any, path: str) -> Iterator[Found]:
    """marshmallow's nested messages -> each broken rule with its dotted path and the value
    sent, lazily (only those listed are worded: `field_errors`)."""
    if isinstance(messages, Mapping):
        for key, inner in messages.items():
            if key == SCHEMA:
                yield from violations(inner, data, path)
            else:
                child = f"{path}.{key}" if path else str(key)
                yield from violations(inner, _child(data, key), child)
    elif isinstance(messages, list):
        for message in messages:
            yield from violations(message, data, path)
    else:
        # Every message of ours is a Violation; should marshmallow word one itself, it still
        # becomes a FieldError rather than a crash on bad input.
        violation = messages if isinstance(messages, Violation) else Violation("invalid")
        yield Found(path, data, violation)


def field_errors(found: Iterable[Found], limit: int = MAX_ERRORS) -> list[FieldError]:
    """The first `limit` broken rules as FieldErrors, then one `more_errors` counting the rest:
    an answer stays small however much a report breaks."""
    found = iter(found)
    errors = [field_error(*each) for each in itertools.islice(found, limit)]
    more = sum(1 for _ in found)
    if more:
        errors.append(field_error("", more, Violation("more_errors", {"count": more})))
    return errors
