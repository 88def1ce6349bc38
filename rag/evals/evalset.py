"""Eval sets: JSONL items validated on the way in (outside data), errors naming file and line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rag.errors import RagError

NOT_IN_CORPUS = "NOT_IN_CORPUS"


QUESTION_TYPES = ("lookup", "paraphrase", "multi", "followup", "unanswerable")


class EvalSetError(RagError):
    """An eval set file cannot be used. The message names the file and line."""

    exit_code = 3


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str


class EvalItem(BaseModel):
    """One line of an eval set (JSONL). See evals/README.md."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    type: Literal["lookup", "paraphrase", "multi", "unanswerable", "followup"]
    gold_titles: list[str] = Field(default_factory=list)
    answer: str = Field(min_length=1)
    key_facts: list[str] = Field(default_factory=list)
    history: list[Turn] = Field(default_factory=list)

    @field_validator("gold_titles", "key_facts")
    @classmethod
    def _no_blank(cls, values: list[str]) -> list[str]:
        if any(not v.strip() for v in values):
            raise ValueError("entries must not be empty")
        return values

    @model_validator(mode="after")
    def _consistent(self) -> EvalItem:
        if self.type == "unanswerable":
            if self.answer != NOT_IN_CORPUS or self.gold_titles:
                raise ValueError(f"an unanswerable item needs answer {NOT_IN_CORPUS!r} and no gold_titles")
        else:
            if self.answer == NOT_IN_CORPUS:
                raise ValueError(f"only type 'unanswerable' may have answer {NOT_IN_CORPUS!r}")
            if not self.gold_titles:
                raise ValueError(f"a {self.type!r} item needs at least one gold title")
        if self.type == "followup" and not self.history:
            raise ValueError("a followup item needs a non-empty history")
        return self

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


@dataclass(frozen=True, slots=True)
class LoadedItem:
    item: EvalItem
    set_name: str
    source: str
    """``file:line`` the item came from."""


def load_eval_set(path: Path) -> list[LoadedItem]:
    """Validated items of a JSONL eval set; ``EvalSetError`` names the file and line of the first problem."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalSetError(f"{path}: cannot read the eval set ({exc})") from exc
    items: list[LoadedItem] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: U+2028 is legal inside JSON
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalSetError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        try:
            item = EvalItem.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}" for e in exc.errors())
            raise EvalSetError(f"{path}:{number}: invalid eval item ({problems})") from exc
        if item.id in seen:
            raise EvalSetError(f"{path}:{number}: duplicate id {item.id!r} (first on line {seen[item.id]})")
        seen[item.id] = number
        items.append(LoadedItem(item, path.stem, f"{path}:{number}"))
    if not items:
        raise EvalSetError(f"{path}: no eval items found")
    return items
