"""The architecture as rules a change cannot break silently: imports only go down the layers, no answerer
imports another, no function in ``rag/`` is over 60 lines, and no script edits ``sys.path``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RAG = ROOT / "rag"

LAYERS: dict[str, int] = {
    "rag.errors": 0, "rag.cancel": 0, "rag.types": 0, "rag.stream": 0, "rag.resources": 0, "rag.text": 1,
    "rag.settings": 1, "rag.settings_checks": 1,
    "rag.linear": 1, "rag.prompts": 1, "rag.index": 2, "rag.request": 3, "rag.filters": 3, "rag.retrieve": 3,
    "rag.answer": 3,
    "rag.pipeline": 4,
    "rag.evals": 5, "rag.integrations": 5, "rag.app": 6,
}  # fmt: skip
"""Each part of the package and its layer: a module imports only from its own layer or below."""
MAX_FUNCTION_LINES = 60


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(RAG.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out.append((".".join(p for p in parts if p != "__init__"), path))
    return out


def _layer(module: str) -> int | None:
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return LAYERS[prefix]
    return None


def _imports(path: Path) -> list[str]:
    """Every ``rag`` module a file imports, at module level or inside functions (``TYPE_CHECKING`` included)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [n for n in names if n == "rag" or n.startswith("rag.")]


def test_every_module_has_a_layer() -> None:
    missing = [m for m, _ in _modules() if m != "rag" and _layer(m) is None]
    assert not missing, f"add these modules to LAYERS: {missing}"


def test_imports_only_go_down_the_layers() -> None:
    upward = []
    for module, path in _modules():
        mine = _layer(module)
        if mine is None:
            continue
        for name in _imports(path):
            theirs = _layer(name)
            if theirs is not None and theirs > mine:
                upward.append(f"{module} (layer {mine}) imports {name} (layer {theirs})")
    assert not upward, "\n".join(upward)


def test_stages_do_not_import_each_other_sideways() -> None:
    """Retrieval never imports answering, indexing never imports either, and no answerer imports another."""
    rules = {"rag.retrieve": ("rag.answer",), "rag.index": ("rag.answer", "rag.retrieve"),
             "rag.answer.llm": ("rag.answer.extractive",), "rag.answer.extractive": ("rag.answer.llm",),
             "rag.answer.guards": ("rag.answer.extractive", "rag.answer.llm")}  # fmt: skip
    for part in ("rag.answer.calls", "rag.answer.messages", "rag.answer.usage"):  # the LLM answerer's own modules
        rules[part] = ("rag.answer.extractive",)
    found = []
    for module, path in _modules():
        for owner, banned in rules.items():
            if module == owner or module.startswith(owner + "."):
                found += [f"{module} imports {n}" for n in _imports(path) if n.startswith(banned)]
    assert not found, "\n".join(found)


def _long_functions(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                out.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    return out


def test_no_function_in_the_package_is_over_60_lines() -> None:
    long = [f for _, path in _modules() for f in _long_functions(path)]
    assert not long, "split these into named steps:\n" + "\n".join(long)


@pytest.mark.parametrize("folder", ["rag", "evals", "benchmarks"])
def test_no_script_edits_sys_path(folder: str) -> None:
    """Eval scripts run as ``python -m evals.NAME`` from the checkout; nothing patches the import path."""
    edits = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", "") == "sys":
                edits.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not edits, "\n".join(edits)
