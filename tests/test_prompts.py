"""Prompt files: each one uses exactly the variables the code passes, and rendering checks them."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.base import ABSTENTION
from rag.prompts import PROMPTS_DIR, VARIABLES, PromptError, load_prompt, render


def test_every_prompt_file_uses_exactly_its_variables() -> None:
    files = {p.stem for p in PROMPTS_DIR.glob("*.md")}
    assert files == set(VARIABLES), "every prompts/*.md must be listed in rag.prompts.VARIABLES and vice versa"
    for name, expected in VARIABLES.items():
        assert load_prompt(name).variables == expected, name


def test_every_prompt_renders_with_its_variables() -> None:
    for name, expected in VARIABLES.items():
        text = render(name, **{v: f"<{v}>" for v in expected})
        for v in expected:
            assert f"<{v}>" in text
        assert "$" not in text


def test_system_prompt_carries_the_abstention_sentence() -> None:
    assert ABSTENTION in render("system", abstention=ABSTENTION)


def test_missing_variable_is_a_clear_error() -> None:
    with pytest.raises(PromptError, match=r"missing value for \$question"):
        load_prompt("condense").render(history="user: hi")


def test_unexpected_variable_is_a_clear_error() -> None:
    with pytest.raises(PromptError, match=r"does not use \$colour"):
        load_prompt("condense").render(history="h", question="q", colour="red")


def test_prompt_file_with_wrong_variables_fails_to_load(tmp_path: Path) -> None:
    (tmp_path / "condense.md").write_text("History: $history\nQuestion: $questoin\n")
    with pytest.raises(PromptError, match="questoin"):
        load_prompt("condense", tmp_path)


def test_malformed_placeholder_is_reported(tmp_path: Path) -> None:
    (tmp_path / "extra.md").write_text("Costs $ 5 for $thing\n")
    with pytest.raises(PromptError, match="malformed"):
        load_prompt("extra", tmp_path)


def test_missing_prompt_file(tmp_path: Path) -> None:
    """The message names the setting that pointed there (a reviewer's RAG_PROMPTS_DIR=/nonexistent)."""
    with pytest.raises(PromptError, match=r"cannot read prompt .*; RAG_PROMPTS_DIR names .*: put system\.md there"):
        load_prompt("system", tmp_path)
