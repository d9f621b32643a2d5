"""The one error type business rules raise (STYLE: `check_*` methods raise named errors).

Standard library only, so domain modules may import it. Every broken rule says which field,
which value and which rule, in Chinese for the prefecture systems and in English for engineers.
"""

from __future__ import annotations

from typing import Any


class RuleBroken(Exception):
    def __init__(self, field: str, value: Any, rule: str, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.field = field
        self.value = value
        self.rule = rule
        self.message_zh = message_zh
        self.message_en = message_en
