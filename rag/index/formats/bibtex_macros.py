"""BibTeX's ``#`` concatenation and bare macro names, which bibtexparser 2.1 leaves as written (it resolves a
field that is one ``@string`` macro and nothing else): ``title = "A " # conf # " B"`` is "A NeurIPS B", JabRef's
``month = jan # "~15"`` is "January~15", and a title or abstract that names an undefined macro is an error, not
the macro's name indexed as text."""

from __future__ import annotations

from collections.abc import Mapping

from bibtexparser.model import Entry

_MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December"]  # fmt: skip
MONTHS = {m[:3].lower(): m for m in _MONTH_NAMES}
"""BibTeX's predefined month macros."""
_TEXT_FIELDS = ("title", "abstract")


def split_top_level(value: str) -> list[str]:
    """The parts of a value joined by ``#`` outside braces and quotes, stripped."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(value):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == '"' and depth == 0:
            quoted = not quoted
        elif ch == "#" and depth == 0 and not quoted:
            parts.append(value[start:i].strip())
            start = i + 1
    return [*parts, value[start:].strip()]


def _part(part: str, strings: Mapping[str, str]) -> str:
    """One part's text: a braced or quoted text, a number, an ``@string`` macro or a month name."""
    if len(part) >= 2 and (part[0], part[-1]) in (("{", "}"), ('"', '"')):
        return part[1:-1]
    if part.isdigit():
        return part
    if part.lower() in strings:
        return strings[part.lower()]
    if part.lower() in MONTHS:
        return MONTHS[part.lower()]
    raise ValueError(f"the macro {part[:40]!r} is not defined; add an @string for it or write the text in braces")


def resolve_macros(entry: Entry, strings: Mapping[str, str]) -> None:
    """Join every concatenated field of ``entry`` (in place), and refuse a title or abstract that is a bare
    undefined macro; ``ValueError`` says which macro is missing."""
    enclosing = entry.parser_metadata.get("removed_enclosing", {})
    resolved = set(entry.parser_metadata.get("ResolveStringReferences", ()))
    for field in entry.fields:
        value = field.value
        if not isinstance(value, str) or enclosing.get(field.key) != "no-enclosing" or field.key in resolved:
            continue
        parts = split_top_level(value)
        if len(parts) > 1:
            field.value = "".join(_part(p, strings) for p in parts)
        elif field.key.lower() in _TEXT_FIELDS:
            field.value = _part(value.strip(), strings)


def string_values(defined: Mapping[str, str]) -> dict[str, str]:
    """The ``@string`` macros by lower-cased name, in the order defined, a concatenated one joined from those
    defined before it."""
    out: dict[str, str] = {}
    for name, value in defined.items():
        parts = split_top_level(value)
        out[name.lower()] = "".join(_part(p, out) for p in parts) if len(parts) > 1 else value
    return out
