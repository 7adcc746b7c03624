"""The rules every piece of text people type follows, in one place: names and labels are one visible line,
free text may span lines, and neither holds control characters. (NUL is refused earlier, for every
input, by the input gate.)"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from annotated_types import GroupedMetadata
from pydantic import AfterValidator, StringConstraints

# Characters that draw nothing: control, format, unassigned, separators, marks, and letters that are
# blank by design (Hangul fillers, the braille blank).
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cn", "Co", "Cs", "Zs", "Zl", "Zp", "Mn", "Me"}
_BLANK_LETTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}
# Unicode's Bidi_Control characters reorder what a reader sees ("Trojan Source"); refused in all text.
_BIDI_CONTROLS = {
    "\u061c",
    "\u200e",
    "\u200f",
    *(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))),
}
_NOT_IN_ONE_LINE = {"Cc", "Zl", "Zp"}  # controls (line feeds included), U+2028, U+2029
# Format characters and spaces draw nothing at the ends of a line (marks, which may end a word, stay).
_EDGE_INVISIBLE = {"Cf", "Zs"}
_LINE_BREAKS = {"\n", "\r", "\t"}


def _visible(character: str) -> bool:
    return unicodedata.category(character) not in _INVISIBLE_CATEGORIES and character not in _BLANK_LETTERS


def _one_visible_line(value: str, max_length: int) -> str:
    """The line in one spelling (NFC, so that "é" typed either way is the same text, and the same
    location), without the invisible characters around it (a zero-width space at the end would make
    two names that look alike differ)."""
    if any(unicodedata.category(c) in _NOT_IN_ONE_LINE or c in _BIDI_CONTROLS for c in value):
        raise ValueError("must be one line without control characters")
    if value and not any(_visible(c) for c in value):
        raise ValueError("must contain a visible character")
    value = _without_invisible_edges(unicodedata.normalize("NFC", value))
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length} characters")
    return value


def _without_invisible_edges(value: str) -> str:
    start, end = 0, len(value)
    while start < end and unicodedata.category(value[start]) in _EDGE_INVISIBLE:
        start += 1
    while end > start and unicodedata.category(value[end - 1]) in _EDGE_INVISIBLE:
        end -= 1
    return value[start:end]


def _no_control_characters(value: str) -> str:
    if any((unicodedata.category(c) == "Cc" and c not in _LINE_BREAKS) or c in _BIDI_CONTROLS for c in value):
        raise ValueError("must not contain control characters")
    return value


@dataclass(frozen=True)
class Line(GroupedMetadata):
    """A name or a label: one line, stripped, with something visible in it when not empty.
    `Annotated[str, Line(max_length=100)]`."""

    max_length: int
    min_length: int = 0

    def __iter__(self) -> Iterator[Any]:
        yield StringConstraints(strip_whitespace=True, min_length=self.min_length, max_length=self.max_length)
        yield AfterValidator(functools.partial(_one_visible_line, max_length=self.max_length))


@dataclass(frozen=True)
class FreeText(GroupedMetadata):
    """Descriptions and notes: lines and tabs allowed, other control characters not.
    `Annotated[str, FreeText(max_length=1000)]`."""

    max_length: int

    def __iter__(self) -> Iterator[Any]:
        yield StringConstraints(max_length=self.max_length)
        yield AfterValidator(_no_control_characters)
