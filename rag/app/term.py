"""Terminal-safe text: what the CLI prints for humans never carries control sequences from the corpus.

A title holding ``ESC[2J`` would clear the user's terminal; a bidi override would reorder what follows it.
``safe`` escapes every such character as visible text (``\\x1b``, ``\\u202e``): C0 controls except newline
and tab, DEL, C1 controls, bidi embeddings/overrides/isolates and marks, and the line/paragraph separators.
JSON output needs none of this: ``json.dumps`` escapes control characters itself (and bidi characters are
harmless inside a JSON string read by a program).
"""

from __future__ import annotations

import re

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")
_UNSAFE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: object) -> str:
    """``text`` (any object, via ``str``) with control characters escaped; newlines and tabs kept."""
    return _UNSAFE.sub(_escape, str(text))


def safe_line(text: object) -> str:
    """``safe`` for one line of a table: newlines and tabs escaped too."""
    return _UNSAFE_LINE.sub(_escape, str(text))
