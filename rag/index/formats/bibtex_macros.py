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


def _part(part: str, strings: Mapping[str, str], lenient: bool = False) -> str:
    """One part's text: a braced or quoted text, a number, an ``@string`` macro or a month name; an undefined
    macro is an error, or with ``lenient`` its name."""
    if len(part) >= 2 and (part[0], part[-1]) in (("{", "}"), ('"', '"')):
        return part[1:-1]
    if part.isdigit():
        return part
    if part.lower() in strings:
        return strings[part.lower()]
    month = next((m for m in MONTHS.values() if len(part) >= 3 and m.lower().startswith(part.lower())), None)
    if month is not None:  # jan, sept, december
        return month
    if lenient and part.replace("_", "").replace("-", "").isalnum():
        return part
    if any(ch.isspace() or ch in '{}"' for ch in part):  # no macro name: "{Sparse Widgets} for Neural Nets}"
        raise ValueError(f"its braces or quotes do not balance near {part[:40]!r}: a '}}' or '\"' too many or too few")
    raise ValueError(f"the macro {part[:40]!r} is not defined; add an @string for it or write the text in braces")


def joined(value: str, strings: Mapping[str, str], lenient: bool = False) -> str | None:
    """``value`` joined if it is a ``#`` concatenation (an undefined macro: ``_part``); None if it is not one."""
    parts = split_top_level(value)
    if len(parts) < 2:
        return None
    return "".join(_part(p, strings, lenient) for p in parts)


def resolve_macros(entry: Entry, strings: Mapping[str, str]) -> None:
    """Join every concatenated field of ``entry`` (in place), also one that is a macro defined by a concatenation.
    A title or abstract naming an undefined macro raises ``ValueError`` saying which; another field keeps the
    macro's name (abbreviations are often kept in a separate file: ``"Proc. " # icml`` is "Proc. icml")."""
    enclosing = entry.parser_metadata.get("removed_enclosing", {})
    resolved = set(entry.parser_metadata.get("ResolveStringReferences", ()))
    for field in entry.fields:
        value = field.value
        if not isinstance(value, str) or (enclosing.get(field.key) != "no-enclosing" and field.key not in resolved):
            continue
        text = field.key.lower() in _TEXT_FIELDS
        try:
            whole = joined(value, strings, lenient=not text)
            if whole is None and text and field.key not in resolved:
                whole = _part(value.strip(), strings)  # a bare word: a macro, a month or a number
        except ValueError:
            if text and field.key not in resolved:
                raise
            continue  # an undefined abbreviation in a venue or note, or a '#' inside a macro's text: as written
        if whole is not None:
            field.value = whole


def string_values(defined: Mapping[str, str]) -> dict[str, str]:
    """The ``@string`` macros by lower-cased name, in the order defined, a concatenated one joined from those
    defined before it."""
    out: dict[str, str] = {}
    for name, value in defined.items():
        try:
            out[name.lower()] = joined(value, out) or value
        except ValueError:  # "C# in practice": a '#' of the text, not a concatenation
            out[name.lower()] = value
    return out
