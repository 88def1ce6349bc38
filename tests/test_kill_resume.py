"""SIGKILL an ingest of the full bundled corpus mid-way, then ingest again: the index ends up exactly like a
clean ingest, with no duplicates, and the second run embeds only the papers the first did not finish."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT, HashEmbedder

from rag.index.chunking import chunk_paper
from rag.index.corpus import load_papers
from rag.index.ingest import ingest
from rag.index.store import Store, open_chroma
from rag.text import split_sentences

BATCH = 16

# The child: the CLI's path (load_papers, then ingest) with the fake embedder slowed down per batch, and a
# line on stdout after each batch is stored.
CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from conftest import HashEmbedder
    from rag.index.corpus import load_papers
    from rag.index.ingest import ingest
    from rag.index.store import Store, open_chroma

    class SlowEmbedder(HashEmbedder):
        def embed(self, texts):
            time.sleep(0.4)
            return super().embed(texts)

    real_write = Store.write
    def write(self, papers, *args):
        real_write(self, papers, *args)
        print("stored", len(papers), flush=True)
    Store.write = write

    data_dir = Path(sys.argv[1])
    papers = load_papers([Path({corpus!r})])
    embedder = SlowEmbedder()
    print("start", len(papers), flush=True)
    ingest(papers, Store(open_chroma(data_dir), embedder.name), embedder, data_dir, batch_size={batch}, progress=False)
    print("finished", flush=True)
    """
)


def _all(store: Store) -> tuple[dict[str, str | None], dict[str, str | None]]:
    chunks = store.chunks.get(include=["documents"])
    sentences = store.sentences.get(include=["metadatas"])
    assert len(chunks["ids"]) == len(set(chunks["ids"])), "duplicate chunk ids"
    assert len(sentences["ids"]) == len(set(sentences["ids"])), "duplicate sentence ids"
    return (
        dict(zip(chunks["ids"], chunks["documents"], strict=True)),
        {i: f"{m['start']}-{m['end']}" for i, m in zip(sentences["ids"], sentences["metadatas"], strict=True)},
    )


@pytest.mark.slow
def test_sigkill_mid_ingest_then_resume(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests=str(ROOT / "tests"), corpus=str(CORPUS), batch=BATCH))
    data_dir = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        [sys.executable, str(script), str(data_dir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stored_lines = 0
    try:
        deadline = time.monotonic() + 180
        assert child.stdout is not None
        while stored_lines < 3:
            line = child.stdout.readline()
            if not line:
                pytest.fail(
                    f"the child ingest ended early: {child.wait()} {child.stderr.read() if child.stderr else ''}"
                )
            if line.startswith("stored"):
                stored_lines += 1
            assert "finished" not in line
            assert time.monotonic() < deadline, "the child ingest is too slow"
        time.sleep(0.2)  # into the next batch's embedding
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    papers = load_papers([CORPUS])
    assert len(papers) == 383
    store = Store(open_chroma(data_dir), HashEmbedder.name)
    done = store.state()
    # every batch reported stored is complete; the ingest did not finish
    assert BATCH * stored_lines <= len(done) < len(papers)
    assert len(done) % BATCH == 0, "a batch is stored completely or not at all"

    resumed = HashEmbedder()
    report = ingest(papers, store, resumed, data_dir, batch_size=BATCH, progress=False)
    todo = [p for p in papers if p.id not in done]
    assert (report.added, report.unchanged, report.updated) == (len(todo), len(done), 0)
    # only the papers not finished before the kill were embedded
    assert sum(resumed.calls) == sum(len(chunk_paper(p)) + len(split_sentences(p.abstract)) for p in todo)
    assert (report.papers, report.chunks) == (383, 383)

    clean_dir = tmp_path / "clean"
    clean_store = Store(open_chroma(clean_dir), HashEmbedder.name)
    clean = ingest(papers, clean_store, HashEmbedder(), clean_dir, progress=False)
    assert report.sentences == clean.sentences == sum(len(split_sentences(p.abstract)) for p in papers)
    assert _all(store) == _all(clean_store)  # same ids, chunk texts and sentence spans
    assert store.state() == clean_store.state() == {p.id: p.content_hash for p in papers}
    # and the next run has nothing to do
    again = HashEmbedder()
    assert ingest(papers, store, again, data_dir, progress=False).unchanged == 383 and again.calls == []
