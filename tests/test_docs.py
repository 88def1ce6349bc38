"""The docs stay true to the code: the configuration reference is the generated one, the README stays a
quickstart, and every relative link in README.md and docs/*.md reaches a file that exists."""

from __future__ import annotations

import importlib.util
import itertools
import re
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README_MAX_LINES = 200


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_configuration", DOCS / "gen_configuration.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def parse(text: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(text)


def link_targets(text: str) -> list[str]:
    """Every link and image target of a Markdown text (code spans and blocks are not links)."""
    targets: list[str] = []

    def walk(tokens: list[Token]) -> None:
        for token in tokens:
            if token.type == "link_open":
                targets.append(str(token.attrGet("href") or ""))
            elif token.type == "image":
                targets.append(str(token.attrGet("src") or ""))
            if token.children:
                walk(token.children)

    walk(parse(text))
    return targets


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors of a Markdown page's headings (a repeated heading gets -1, -2, ... as on GitHub)."""
    seen: dict[str, int] = {}
    tokens = parse(text)
    for opening, inline in itertools.pairwise(tokens):
        if opening.type != "heading_open":
            continue
        words = "".join(t.content for t in inline.children or [] if t.type in ("text", "code_inline"))
        base = slug(words)
        seen[base if base not in seen else f"{base}-{seen[base]}"] = 0
        seen[base] = seen.get(base, 0) + 1
    return set(seen)


def relative_path(target: str) -> str | None:
    """The file part of a relative link, or None for a URL, a mail address or an anchor in the same page."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    return unquote(parts.path)


def test_configuration_md_is_the_generated_text() -> None:
    expected = generator().render()
    current = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert current == expected, (
        "docs/configuration.md is stale: run `python docs/gen_configuration.py > docs/configuration.md`"
    )


def test_every_setting_has_a_row_and_a_description() -> None:
    from rag.settings import Settings, env_names

    text = generator().render()
    for name, info in Settings.model_fields.items():
        assert info.description, f"Settings.{name} has no description for docs/configuration.md"
        assert f"`{env_names(name)[0]}`" in text


def test_generated_table_does_not_depend_on_the_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    before = generator().render()
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("RAG_TOP_K", "7")
    assert generator().render() == before
    assert str(tmp_path) not in before


def test_defaults_are_shown_as_one_would_set_them() -> None:
    from pydantic import SecretStr
    from pydantic.fields import FieldInfo

    value_text, default_text = generator().value_text, generator().default_text
    assert [value_text(v) for v in (None, 60.0, 0.15, 1e6, True, "onnx", 5)] == [
        "unset", "`60`", "`0.15`", "`1000000`", "`true`", "`onnx`", "`5`"
    ]  # fmt: skip
    assert value_text(frozenset({"b", "a"})) == "`a`, `b`" and value_text([]) == "none"
    assert value_text(SecretStr("sk-123")) == "(secret)"
    assert value_text(Path.home()) == "computed at start-up"  # never a path of the machine that ran it
    assert default_text("hosts", FieldInfo(default_factory=lambda: ["localhost"])) == "`localhost`"
    assert default_text("data_dir", FieldInfo(default_factory=Path.home)).startswith("`$XDG_DATA_HOME/rag`")


def test_readme_is_a_quickstart() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move reference material to docs/"
    text = "\n".join(lines)
    for command in ("make run", "make test"):
        assert command in text
    assert "docs/screenshot.png" in link_targets(text)


def broken_links(page: Path) -> list[str]:
    """Relative links of a page whose file is missing, or whose #anchor names no heading of a Markdown file."""
    broken = []
    for target in link_targets(page.read_text(encoding="utf-8")):
        parts = urlsplit(target)
        path = relative_path(target)
        if parts.scheme or parts.netloc:
            continue
        file = page if path is None else page.parent / path
        if not file.exists() or (file.suffix == ".md" and not has_anchor(file, parts.fragment)):
            broken.append(target)
    return broken


def has_anchor(file: Path, fragment: str) -> bool:
    return not fragment or fragment in anchors(file.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_point_at_files_and_headings(page: Path) -> None:
    broken = broken_links(page)
    assert not broken, f"{page.relative_to(ROOT)} links to missing files or headings: {broken}"


def test_link_finder_sees_links_and_images_but_not_code() -> None:
    text = "See [a](docs/a.md#x) and ![b](b.png), [web](https://x.org), [top](#top).\n\n"
    text += "```\n[c](c.md)\n```\n`[d](d.md)`"
    targets = link_targets(text)
    assert targets == ["docs/a.md#x", "b.png", "https://x.org", "#top"]
    assert [relative_path(t) for t in targets] == ["docs/a.md", "b.png", None, None]


def test_anchors_follow_githubs_rule() -> None:
    text = "# The `/v1` API\n\n## Choosing the first stage's fusion (issue 10)\n\n## Notes\n\n## Notes\n"
    assert anchors(text) == {"the-v1-api", "choosing-the-first-stages-fusion-issue-10", "notes", "notes-1"}


def test_a_missing_file_or_heading_is_reported(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Real heading\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Top\n[ok](other.md#real-heading) [gone](missing.md) [bad](other.md#nope) [self](#top) [no](#none)\n"
        "[web](https://example.org/x.md#y)\n",
        encoding="utf-8",
    )
    assert broken_links(page) == ["missing.md", "other.md#nope", "#none"]
