"""Which characters the text of a report may hold, and how any text is shown back safely.

A report's text is refused (README "Limits") when it holds a lone surrogate (it cannot be
encoded, so it could be neither hashed nor answered), a control character (newline and tab are
allowed in long text), a bidirectional override or isolate (it reorders what a reader sees), a
noncharacter, or nothing visible but zero-width characters. `printable` escapes the same
characters wherever a value is repeated to a caller or a log.

Standard library only, so errors.py (and through it domain modules) may import it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

_SURROGATES = "\ud800-\udfff"
_CONTROLS = "\x00-\x1f\x7f-\x9f"  # C0, DEL and C1
_CONTROLS_BUT_TAB_AND_NEWLINE = "\x00-\x08\x0b-\x1f\x7f-\x9f"
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"  # embeddings, overrides and isolates
# U+FDD0..U+FDEF and the last two code points of every plane.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    chr(plane + 0xFFFE) + chr(plane + 0xFFFF) for plane in range(0, 0x110000, 0x10000)
)
# Characters that show nothing: format characters, fillers and variation selectors.
_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0"
)


def _odd_rules(controls: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple(
        (rule, re.compile(f"[{chars}]"))
        for rule, chars in (
            ("lone_surrogate", _SURROGATES),
            ("control_character", controls),
            ("bidi_control", _BIDI_CONTROLS),
            ("noncharacter", _NONCHARACTERS),
        )
    )


# multiline (long text) -> each rule and the characters it refuses, in the order checked
_ODD = {False: _odd_rules(_CONTROLS), True: _odd_rules(_CONTROLS_BUT_TAB_AND_NEWLINE)}
_SURROGATE = re.compile(f"[{_SURROGATES}]")
_VISIBLE = re.compile(f"[^\\s{_INVISIBLE}]")
_UNPRINTABLE = re.compile(f"[{_SURROGATES}{_CONTROLS}{_BIDI_CONTROLS}{_NONCHARACTERS}]")


class OddCharacter(NamedTuple):
    """The first character a text may not hold: its rule, `U+XXXX` and its 1-based position."""

    rule: str
    char: str
    position: int

    def params(self) -> dict[str, str | int]:
        """What the rule's message names (messages.py)."""
        return {"char": self.char, "position": self.position}


def odd_character(text: str, multiline: bool = False) -> OddCharacter | None:
    """The first refused character of `text`, by rule, or None; `multiline` allows newline
    and tab."""
    for rule, pattern in _ODD[multiline]:
        odd = _first(rule, pattern, text)
        if odd is not None:
            return odd
    return None


def lone_surrogate(text: str) -> OddCharacter | None:
    """The first lone surrogate of `text` (what no encoding can write), or None."""
    return _first("lone_surrogate", _SURROGATE, text)


def _first(rule: str, pattern: re.Pattern[str], text: str) -> OddCharacter | None:
    found = pattern.search(text)
    if found is None:
        return None
    return OddCharacter(rule, f"U+{ord(found[0]):04X}", found.start() + 1)


def has_visible(text: str) -> bool:
    """True if some character of `text` is neither whitespace nor invisible."""
    return _VISIBLE.search(text) is not None


def normalised(text: str) -> str:
    """NFC: the same text typed two ways is stored, compared and hashed alike."""
    return unicodedata.normalize("NFC", text)


def printable(text: str) -> str:
    """`text` with every character `odd_character` refuses (newline and tab too) escaped as
    \\uXXXX: safe to encode, answer and log on one line, and shown as it was sent."""
    if _UNPRINTABLE.search(text) is None:
        return text
    return _UNPRINTABLE.sub(_escaped, text)


def _escaped(found: re.Match[str]) -> str:
    point = ord(found[0])
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"
