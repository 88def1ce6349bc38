"""Shared by ``bench_search.py`` and ``bench_ingest.py``: the three MiniLM runtimes loaded side by side, and
their bare encode speed at batch 1 (one query at a time) and at a fixed batch size (ingest), measured
interleaved in one process so that load from other processes hits every runtime alike.

Run the benchmarks as scripts from the repository root (``python benchmarks/bench_search.py``): this folder
is then on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from rag.index.embeddings import MiniLMEmbedder, OnnxEmbedder
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RUNTIMES = ("torch", "onnx", "onnx-int8")
"""Values of ``RAG_EMBEDDER_RUNTIME``; ``torch`` is the baseline every ratio is taken against."""
DEFAULT_RUNTIME = str(Settings.model_fields["embedder_runtime"].default)

Embedders = dict[str, MiniLMEmbedder | OnnxEmbedder]


def load_embedders(runtimes: Sequence[str], batch_size: int | None = None, cache_dir: Path | None = None) -> Embedders:
    """One warm embedder per runtime (model loaded, ONNX exported into ``cache_dir`` if needed), each
    embedding ``batch_size`` texts per forward pass (default: the runtime's own, as ``rag ingest`` runs it)."""
    cache = cache_dir or Settings().model_cache_dir
    out: Embedders = {}
    for runtime in runtimes:
        if runtime == "torch":
            out[runtime] = MiniLMEmbedder() if batch_size is None else MiniLMEmbedder(batch_size=batch_size)
        elif runtime in ("onnx", "onnx-int8"):
            onnx_runtime = OnnxEmbedder(quantized=runtime == "onnx-int8", cache_dir=cache)
            onnx_runtime.batch_size = batch_size or onnx_runtime.batch_size
            out[runtime] = onnx_runtime
        else:
            raise SystemExit(f"unknown runtime {runtime!r}; use {', '.join(RUNTIMES)}")
        out[runtime].embed(["warm-up text", "a second, somewhat longer warm-up text for the batch path"])
        out[runtime].embed_query("warm-up query")
    return out


def questions(limit: int = 0) -> list[str]:
    """Distinct questions of the dev sets (dev, dev_fit, dev_val), in file order."""
    seen: dict[str, None] = {}
    for name in ("dev.jsonl", "dev_fit.jsonl", "dev_val.jsonl"):
        for line in (ROOT / "evals" / name).read_text().splitlines():
            if line.strip():
                seen.setdefault(json.loads(line)["question"], None)
    out = list(seen)
    return out[:limit] if limit else out


def rotated(items: Sequence[str], shift: int) -> list[str]:
    """``items`` started at position ``shift`` (mod len): each runtime goes first equally often."""
    shift %= len(items)
    return [*items[shift:], *items[:shift]]


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass(frozen=True, slots=True)
class EncodeSpeed:
    """Bare encode speed of one runtime: batch 1 latency (ms) and texts/s at batch 1 and batch ``batch``."""

    runtime: str
    query_ms_p50: float
    query_ms_p95: float
    batch: int
    batch_rates: tuple[float, ...]
    """texts/s of each timed pass over the batch texts."""

    @property
    def rate_1(self) -> float:
        return 1000.0 / self.query_ms_p50

    @property
    def rate_batch(self) -> float:
        return statistics.median(self.batch_rates)


def time_queries(embedders: Embedders, queries: Sequence[str], rounds: int) -> dict[str, list[float]]:
    """Seconds of each bare ``embed_query`` per runtime, the runtimes interleaved query by query."""
    out: dict[str, list[float]] = {r: [] for r in embedders}
    names = list(embedders)
    for _ in range(rounds):
        for i, query in enumerate(queries):
            for runtime in rotated(names, i):
                t0 = time.perf_counter()
                embedders[runtime].embed_query(query)
                out[runtime].append(time.perf_counter() - t0)
    return out


def time_batches(embedders: Embedders, texts: Sequence[str], rounds: int) -> dict[str, list[float]]:
    """texts/s of one ``embed`` call over all ``texts`` (sorted by length inside, ``batch_size`` per pass)
    per runtime and round, the runtimes' order rotated per round."""
    out: dict[str, list[float]] = {r: [] for r in embedders}
    names = list(embedders)
    for round_ in range(rounds):
        for runtime in rotated(names, round_):
            t0 = time.perf_counter()
            embedders[runtime].embed(texts)
            out[runtime].append(len(texts) / (time.perf_counter() - t0))
    return out


def encode_speeds(
    embedders: Embedders,
    queries: Sequence[str],
    texts: Sequence[str],
    batch: int,
    rounds: int,
    single: dict[str, list[float]] | None = None,
) -> list[EncodeSpeed]:
    """Each runtime's bare encode speed; ``single``: batch-1 seconds already measured (else timed here)."""
    single = single or time_queries(embedders, queries, rounds)
    batched = time_batches(embedders, texts, rounds)
    return [
        EncodeSpeed(
            runtime,
            statistics.median(single[runtime]) * 1000,
            percentile(single[runtime], 0.95) * 1000,
            batch,
            tuple(batched[runtime]),
        )
        for runtime in embedders
    ]


def speed_table(speeds: Iterable[EncodeSpeed], n_queries: int, n_texts: int) -> list[str]:
    """Markdown rows: each runtime's bare encode speed and its ratio to torch's."""
    speeds = list(speeds)
    base = next((s for s in speeds if s.runtime == "torch"), None)
    batch = speeds[0].batch if speeds else 0
    lines = [
        f"| runtime (bare encode) | batch 1: p50 / p95 ms ({n_queries} queries) | batch 1 texts/s "
        f"| batch {batch} texts/s ({n_texts} texts), per pass | batch 1 speed vs torch | batch {batch} vs torch |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for s in speeds:
        vs_1 = f"{s.rate_1 / base.rate_1:.2f}x" if base else "-"
        vs_b = f"{s.rate_batch / base.rate_batch:.2f}x" if base else "-"
        passes = ", ".join(f"{r:.0f}" for r in s.batch_rates)
        lines.append(
            f"| {s.runtime} | {s.query_ms_p50:.1f} / {s.query_ms_p95:.1f} | {s.rate_1:.1f} "
            f"| {s.rate_batch:.0f} ({passes}) | {vs_1} | {vs_b} |"
        )
    return lines


def write_report(path: Path | None, lines: Sequence[str], echo: Callable[[str], None] = print) -> None:
    """Print the Markdown report and, with ``path``, append it there (one section per run)."""
    text = "\n".join(lines) + "\n"
    echo(text)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as f:
            f.write(text + "\n")


def machine_line() -> str:
    """When and where: UTC time, cores, load average (other processes share this machine)."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return f"{stamp}; {os.cpu_count()} cores; load average {load}"
