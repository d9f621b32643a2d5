"""Reading one cell of a 台账 the way a clerk meant it, or saying in Chinese why it cannot be.

Tolerated: full-width digits, letters and spaces (NFKC), surrounding blanks, dates as Excel
serial numbers, date cells or text ("2020.7.20", "2020/7/20", "2020年7月20日", "20200720"),
amounts as numbers (converted exactly: a float by its shortest decimal form, never by its binary
value), as text with thousands separators ("1,234.5") or a unit ("3000万元"), and in 万元 when
the header says so. What is left is the contract's to judge (the gateway's Ingest.Validate):
these functions only turn a cell into the value the contract expects, or a `CellError`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01 (Excel's 1900 leap-year bug included)
SERIALS = range(20_000, 80_000)  # 1954–2119: a number outside is no date a 台账 means
WAN = Decimal(10000)  # 万元 per 亿元
DATE_TEXT = re.compile(r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?")
COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")
PLAIN = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
UNIT_SUFFIX = re.compile(r"(亿元|亿|万元|万)$")
SEPARATORS = re.compile(r"[、,，;；/\n]+")
YES = {"是", "y", "yes", "true", "1", "√", "✓"}
NO = {"否", "n", "no", "false", "0", "×", "✗"}


class CellError(ValueError):
    """A cell that cannot be read: the rule it breaks and a sentence for a clerk."""

    def __init__(self, rule: str, message_zh: str) -> None:
        super().__init__(message_zh)
        self.rule = rule
        self.message_zh = message_zh


def text(value: Any, fold: bool = True) -> str:
    """The cell as text: full-width forms folded (NFKC) unless `fold` is false, blanks around
    it removed; a whole number stored as a float ("420100.0") without its ".0".

    Codes, numbers and dates are folded; words (names, plans, progress) are not: Chinese text
    writes its punctuation full-width ("阿里巴巴（中国）有限公司"，“…”), and the words a clerk
    wrote are the words reported."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    written = str(value).strip()
    return unicodedata.normalize("NFKC", written).strip() if fold else written


def is_blank(value: Any) -> bool:
    return text(value) == ""


def to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if int(value) in SERIALS:
            return EXCEL_EPOCH + timedelta(days=int(value))
        raise CellError("date_unreadable", f"数字 {text(value)} 不是日期（应为年-月-日）")
    written = text(value)
    match = DATE_TEXT.fullmatch(written) or COMPACT_DATE.fullmatch(written)
    if match is None:
        if written.isdigit() and int(written) in SERIALS:
            return EXCEL_EPOCH + timedelta(days=int(written))
        raise CellError("date_unreadable", f"“{written}” 不是可识别的日期（应为年-月-日）")
    year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError("date_invalid", f"“{written}” 不是存在的日期") from None


def to_amount(value: Any, in_wan: bool = False) -> Decimal:
    """An amount in 亿元: exact, from the cell's number or text; in 万元 when `in_wan` (the
    header says so) or the text ends in 万元."""
    if isinstance(value, bool):
        raise CellError("amount_unreadable", f"“{value}” 不是金额")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))  # the shortest decimal that is this float: 12.3, not 12.29…
    else:
        amount, in_wan = _amount_text(text(value), in_wan)
    return (amount / WAN if in_wan else amount).normalize()


def _amount_text(written: str, in_wan: bool) -> tuple[Decimal, bool]:
    unit = UNIT_SUFFIX.search(written)
    number = written[: unit.start()].strip() if unit else written
    if unit:
        in_wan = unit.group(1).startswith("万")
    if GROUPED.fullmatch(number):
        number = number.replace(",", "")
    elif "," in number:
        raise CellError(
            "amount_comma",
            f"“{written}” 中的逗号不是千位分隔符（小数点请用“.”）",
        )
    if not PLAIN.fullmatch(number):
        raise CellError("amount_unreadable", f"“{written}” 不是金额（应为数字，单位见表头）")
    try:
        return Decimal(number), in_wan
    except InvalidOperation:
        raise CellError("amount_unreadable", f"“{written}” 不是金额") from None


def plain(amount: Decimal) -> str:
    """The decimal string the contract takes: no exponent, no trailing zeros."""
    return format(amount.normalize(), "f")


def to_flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    written = text(value).lower()
    if written in YES:
        return True
    if written in NO:
        return False
    raise CellError("flag_unreadable", f"“{text(value)}” 应为“是”或“否”")


def to_choice(value: Any, words: Mapping[str, str], list_name: str) -> str:
    """A 字典 word to its contract value: the word itself, its leading code ("420100 武汉市" ->
    420100), its name alone ("武汉市"), or the contract value as it is."""
    written = text(value)
    words = {text(word): meant for word, meant in words.items()}  # folded as the cell is
    if written in words:
        return words[written]
    values = set(words.values())
    if written in values:
        return written
    head = written.split(" ")[0]
    if head in values:
        return head
    for word, meant in words.items():
        if word.split(" ", 1)[-1] == written or word.split("(")[0] == written:
            return meant
    raise CellError(
        "not_in_dictionary",
        f"“{written}” 不在字典“{list_name}”中（请从下拉列表选择）",
    )


def to_choices(value: Any, words: Mapping[str, str], list_name: str) -> list[str]:
    return [to_choice(part, words, list_name) for part in split(value)]


def split(value: Any, fold: bool = True) -> list[str]:
    return [part.strip() for part in SEPARATORS.split(text(value, fold)) if part.strip()]
