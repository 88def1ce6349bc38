"""A plain (non-editable) wheel works from any folder: build it from a copy of the sources, install it into
a temporary target, and from another folder run ``rag ingest``, ``stats``, ``search``, ``ask`` and ``serve``
with the target first on ``PYTHONPATH`` (the checkout is neither the working directory nor on ``sys.path``).

A ``sitecustomize`` probe (on ``PYTHONPATH`` after the target) records, as each command exits, the file of
every ``rag`` module it imported, so the test sees that the wheel's code ran and not the checkout's.
With ``RAG_TEST_INDEX`` set the data dir is seeded from that index (ingest then finds little or nothing
to embed); without it the installed package builds the index from its bundled corpus.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SPARSEMAX = "From Softmax to Sparsemax: A Sparse Model of Attention and Multi-Label Classification"

PROBE = '''
import atexit, json, os, sys

def _record() -> None:
    path = os.environ.get("RAG_WHEEL_PROBE")
    if not path:
        return
    files = sorted({getattr(m, "__file__", None) or "?" for n, m in list(sys.modules.items())
                    if n == "rag" or n.startswith("rag.")})
    with open(path, "a") as out:
        out.write(json.dumps({"argv": sys.argv, "files": files}) + "\\n")

atexit.register(_record)
'''


@dataclass(frozen=True)
class Installed:
    wheel: Path
    site: Path
    elsewhere: Path
    probe_log: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """``python -m rag.app.cli ARGS`` from the other folder, with the installed package."""
        return subprocess.run(
            [sys.executable, "-m", "rag.app.cli", *args],
            cwd=self.elsewhere,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def probes(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.probe_log.read_text().splitlines()]


def _pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"  # a copy, so the build leaves no build/ or egg-info in the checkout
    shutil.copytree(ROOT / "rag", src / "rag", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    _pip("wheel", str(src), "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(base / "dist"))
    (wheel,) = (base / "dist").glob("rag-*.whl")
    site = base / "site"
    _pip("install", "--no-deps", "--no-index", "-q", "--target", str(site), str(wheel))

    probe = base / "probe"
    probe.mkdir()
    (probe / "sitecustomize.py").write_text(PROBE)
    data = base / "data"
    reuse = os.environ.get("RAG_TEST_INDEX")
    if reuse and Path(reuse).is_dir():
        shutil.copytree(reuse, data)
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_")) and k != "PYTHONPATH"}
    env.update(
        PYTHONPATH=os.pathsep.join([str(site), str(probe)]),
        RAG_DATA_DIR=str(data),
        RAG_WHEEL_PROBE=str(base / "probe.jsonl"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        GRADIO_ANALYTICS_ENABLED="False",
    )
    return Installed(wheel, site, elsewhere, base / "probe.jsonl", env)


def _assert_ran_from_the_target(installed: Installed, *argv: str) -> None:
    """The last run whose command line holds every one of ``argv`` imported ``rag`` only from the target."""
    records = [r for r in installed.probes() if all(a in r["argv"] for a in argv)]
    assert records, f"no probe record for {argv}"
    files = records[-1]["files"]
    assert any(f.endswith("rag/__init__.py") for f in files)
    assert files and all(Path(f).is_relative_to(installed.site) for f in files), files
    assert not any(Path(f).is_relative_to(ROOT) for f in files)


def test_the_wheel_holds_the_code_and_every_data_file(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    data_files = {p.relative_to(ROOT).as_posix() for p in (ROOT / "rag" / "data").rglob("*") if p.is_file()}
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "rag").rglob("*.py")}
    assert data_files and data_files <= names
    assert {"rag/data/prompts/answer.md", "rag/data/reranker.json", "rag/data/tiktoken/cl100k_base.tiktoken"} <= names
    assert modules <= names and "rag/py.typed" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "rag = rag.app.cli:main" in zipfile.ZipFile(installed.wheel).read(entry_points).decode()


def test_ingest_search_and_ask_from_another_folder(installed: Installed) -> None:
    from rag.index.corpus import load_papers
    from rag.settings import BUNDLED_CORPUS

    expected_papers = len(load_papers(sorted(BUNDLED_CORPUS.glob("*.txt"))))
    done = installed.run("ingest", "--quiet")
    assert done.returncode == 0, done.stderr
    assert f"index holds {expected_papers} papers" in done.stdout
    _assert_ran_from_the_target(installed, "ingest")

    stats = subprocess.run(  # the console script pip put in the target's bin
        [str(installed.site / "bin" / "rag"), "stats", "--json"],
        cwd=installed.elsewhere, env=installed.env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert stats.returncode == 0, stats.stderr
    counts = json.loads(stats.stdout)
    assert counts["papers"] == expected_papers and counts["data_dir"] == installed.env["RAG_DATA_DIR"]
    _assert_ran_from_the_target(installed, "stats")

    done = installed.run("search", "sparsemax", "--json", "-k", "5")
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)
    assert len(hits) == 5 and hits[0]["paper"]["title"] == SPARSEMAX
    assert "sparsemax" in hits[0]["sentence"].lower()
    _assert_ran_from_the_target(installed, "search")

    done = installed.run("ask", "What is sparsemax and how does it differ from softmax?", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    cited = {c["marker"]: c["paper"]["title"] for c in answer["citations"]}
    assert SPARSEMAX in cited.values()
    marker = next(m for m, title in cited.items() if title == SPARSEMAX)
    assert f"[{marker}]" in answer["text"] and "sparsemax" in answer["text"].lower()
    _assert_ran_from_the_target(installed, "ask")



def test_serve_starts_from_the_wheel_and_answers_http(installed: Installed) -> None:
    rag = str(installed.site / "bin" / "rag")
    helped = subprocess.run([rag, "serve", "--help"], env=installed.env, cwd=installed.elsewhere,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert helped.returncode == 0 and "--port" in helped.stdout

    if not (Path(installed.env["RAG_DATA_DIR"]) / "chroma").is_dir():
        assert installed.run("ingest", "--quiet").returncode == 0
    port = free_port()
    server = subprocess.Popen(
        [rag, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=installed.elsewhere, env=installed.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        page = ""
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    page = response.read().decode("utf-8", "replace")
                    break
            except OSError:
                time.sleep(1)
        assert server.poll() is None, server.stdout.read() if server.stdout else ""
        assert "gradio" in page.lower()
    finally:
        server.send_signal(signal.SIGINT)  # a clean stop runs the probe's atexit
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    assert server.returncode in (0, 130, -signal.SIGINT), server.returncode
    _assert_ran_from_the_target(installed, "serve", "--port", str(port))
