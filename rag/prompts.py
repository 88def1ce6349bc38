"""Prompt templates in ``prompts/*.md``, with ``$name`` variables checked on every render.

A template names its variables as ``$name`` (``$$`` for a literal dollar sign). ``render`` raises a
``PromptError`` naming the file when a variable is missing, unexpected, or the template is malformed,
so a prompt edit that breaks the contract fails loudly instead of sending a half-filled prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template

from rag.errors import ConfigError
from rag.resources import data_path

PROMPTS_DIR = data_path("prompts")
"""Bundled prompts; ``Settings.prompts_dir`` (``RAG_PROMPTS_DIR``) points elsewhere (e.g. to try edited prompts)."""

VARIABLES: dict[str, frozenset[str]] = {
    "system": frozenset({"abstention"}),
    "answer": frozenset({"sources", "question", "standalone_question", "abstention"}),
    "condense": frozenset({"history", "question"}),
    "judge": frozenset({"sources", "sentence"}),
    "rerank": frozenset({"question", "papers"}),
}
"""Every prompt file and exactly the variables it must use (and may be given)."""


class PromptError(ConfigError):
    """A prompt file is missing or does not match the variables the code passes."""


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str
    path: Path
    template: Template

    @property
    def variables(self) -> frozenset[str]:
        """The ``$name`` variables the template uses."""
        return frozenset(self.template.get_identifiers())

    def render(self, **values: str) -> str:
        """The prompt with every variable filled; a missing or unexpected variable is a ``PromptError``."""
        if not self.template.is_valid():
            raise PromptError(f"{self.path}: malformed placeholder (write $$ for a literal dollar sign)")
        missing = sorted(self.variables - set(values))
        unexpected = sorted(set(values) - self.variables)
        if missing or unexpected:
            parts = []
            if missing:
                parts.append(f"missing value for {', '.join('$' + m for m in missing)}")
            if unexpected:
                parts.append(f"the template does not use {', '.join('$' + u for u in unexpected)}")
            raise PromptError(f"{self.path}: {'; '.join(parts)} (it uses {sorted(self.variables) or 'none'})")
        return self.template.substitute(values).strip()


@lru_cache(maxsize=32)
def _load(path: Path, mtime: float) -> str:
    return path.read_text(encoding="utf-8")


def load_prompt(name: str, directory: Path | None = None) -> Prompt:
    """The template ``<directory>/<name>.md`` (read once while unchanged); it must use exactly the
    variables listed in ``VARIABLES`` for known prompt names."""
    path = (directory or PROMPTS_DIR) / f"{name}.md"
    try:
        text = _load(path, path.stat().st_mtime)
    except OSError as exc:
        fix = "" if directory is None else (
            f"; RAG_PROMPTS_DIR names {directory}: put {name}.md there (copy the bundled rag/data/prompts) or unset it")
        raise PromptError(f"cannot read prompt {path}: {exc.strerror or exc}{fix}") from exc
    prompt = Prompt(name, path, Template(text))
    if not prompt.template.is_valid():
        raise PromptError(f"{path}: malformed placeholder (write $$ for a literal dollar sign)")
    expected = VARIABLES.get(name)
    if expected is not None and prompt.variables != expected:
        raise PromptError(
            f"{path}: uses {sorted(prompt.variables)} but the code provides {sorted(expected)}; "
            "fix the $variables in the file"
        )
    return prompt


def render(name: str, directory: Path | None = None, **values: str) -> str:
    """Load and render a prompt in one step (``directory``: ``Settings.prompts_dir``; None: the bundled ones)."""
    return load_prompt(name, directory).render(**values)
