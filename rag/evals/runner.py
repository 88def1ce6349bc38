"""Offline eval harness: run eval sets through ``Pipeline.ask``, score, report, gate.

``rag eval --set evals/dev.jsonl --out eval-out [--compare old/report.json] [--thresholds evals/thresholds.json]``

Every item goes through the same ``Pipeline.ask`` users call (history passed for follow-ups). Scores are
per item, then averaged over the items they apply to (``aggregate``, and per question type in
``by_type``). Metric definitions: ``rag.evals.ranking`` (ranking), ``rag.evals.metrics`` and ``rag.evals.facts``
(answers), ``rag.evals.stats`` (over items) and ``rag.evals.scoring.METRIC_DOCS``, which ``report.md`` prints.

Regenerate the CI thresholds from a fresh run (measured minus ``--margin``, rates plus it):

    rag eval --set evals/dev_val.jsonl --out eval-out
    python -m rag.evals.runner --write-thresholds eval-out/report.json --out evals/thresholds.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import ConfigError, RagError
from rag.evals.evalset import QUESTION_TYPES, LoadedItem, load_eval_set
from rag.evals.gate import THRESHOLD_MARGIN, check_thresholds, denominators, load_thresholds, thresholds_from
from rag.evals.judge import LLMJudge
from rag.evals.ranking import RANKING_KEYS
from rag.evals.scoring import METRIC_DOCS, ItemResult, aggregate, score_answer
from rag.text import normalize_title
from rag.types import Answer, AnswererName

if TYPE_CHECKING:
    from rag.index.embeddings import Embedder
    from rag.pipeline import Pipeline
    from rag.settings import Settings

__all__ = [
    "METRIC_DOCS", "EvalReport", "ItemResult", "aggregate", "evaluate", "main", "run_eval_command", "score_answer",
]  # fmt: skip


def run_items(
    pipeline: Pipeline,
    items: Sequence[LoadedItem],
    *,
    answerer: AnswererName = "extractive",
    judge: LLMJudge | None = None,
    progress: bool = True,
) -> list[ItemResult]:
    """Ask every item through ``pipeline.ask`` (with its history) and score the answer."""
    from tqdm import tqdm

    results: list[ItemResult] = []
    for loaded in tqdm(items, desc="Evaluating", unit="q", disable=not progress, file=sys.stderr):
        item = loaded.item
        history = [t.model_dump() for t in item.history]
        error: str | None = None
        try:
            started = time.perf_counter()
            answer: Answer = pipeline.ask(item.question, history, answerer=answerer)
            timings = dict(answer.timings) or {"total": time.perf_counter() - started}
            error = answer.error
            scores = score_answer(item, answer, judge)
            result = ItemResult(
                item.id,
                loaded.set_name,
                loaded.source,
                item.type,
                item.question,
                item.answerable,
                list(item.gold_titles),
                answer.text,
                answer.abstained,
                answer.answerer,
                [h.paper.title for h in answer.hits],
                [{"marker": c.marker, "title": c.paper.title, "verdict": c.verdict} for c in answer.citations],
                scores,
                timings,
                error,
                confidence(pipeline, answer),
            )
        except RagError as exc:  # one broken item must not lose the run; it scores zero where it applies
            result = _failed(loaded, str(exc))
        results.append(result)
    return results


def confidence(pipeline: Pipeline, answer: Answer) -> float | None:
    """The abstention model's confidence for an answer's ranked hits (the list ``Pipeline.retrieve`` decided
    on); None for a pipeline without an abstention model."""
    abstainer = getattr(pipeline, "abstainer", None)
    if abstainer is None:
        return None
    return float(abstainer.confidence(list(answer.hits)))


def abstain_threshold(pipeline: Pipeline) -> float | None:
    """The threshold the pipeline refuses below (``RAG_ABSTAIN_THRESHOLD`` or the fitted one)."""
    settings = getattr(pipeline, "settings", None)
    override = getattr(settings, "abstain_threshold", None)
    if override is not None:
        return float(override)
    abstainer = getattr(pipeline, "abstainer", None)
    return float(abstainer.threshold) if abstainer is not None else None


def _failed(loaded: LoadedItem, error: str) -> ItemResult:
    item = loaded.item
    scores: dict[str, float | None] = {}
    if item.answerable:
        scores.update(dict.fromkeys(RANKING_KEYS, 0.0))
        scores["key_fact_recall"] = 0.0 if item.key_facts else None
        scores["key_fact_first40"] = 0.0 if item.key_facts else None
        scores["answer_f1"] = 0.0
    scores["not_stated"] = scores["refused_or_not_stated"] = 0.0  # a failure is neither a refusal nor a flag
    return ItemResult(
        item.id, loaded.set_name, loaded.source, item.type, item.question, item.answerable,
        list(item.gold_titles), "", False, "error", [], [], scores, {}, error,
    )  # fmt: skip


@dataclass(slots=True)
class EvalReport:
    results: list[ItemResult]
    aggregate: dict[str, float | int | None]
    by_type: dict[str, dict[str, float | int | None]]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "meta": self.meta,
            "aggregate": self.aggregate,
            "by_type": self.by_type,
            "metric_definitions": METRIC_DOCS,
            "items": [r.to_dict() for r in self.results],
        }


def build_report(results: Sequence[ItemResult], judge: LLMJudge | None, meta: dict[str, Any]) -> EvalReport:
    judge_ran = judge is not None
    types = [t for t in QUESTION_TYPES if any(r.type == t for r in results)]
    by_type = {t: aggregate([r for r in results if r.type == t], judge_ran) for t in types}
    meta = dict(meta)
    meta["faithfulness_tier"] = "judge" if judge_ran else "exact"
    if judge is not None:
        meta["judge"] = {
            "model": judge.model,
            "calls": judge.calls,
            "cache_hits": judge.cache_hits,
            "errors": judge.errors,
        }
    return EvalReport(list(results), aggregate(results, judge_ran), by_type, meta)


def evaluate(
    pipeline: Pipeline,
    sets: Sequence[Path],
    *,
    answerer: AnswererName = "extractive",
    judge: LLMJudge | None = None,
    progress: bool = True,
) -> EvalReport:
    """Load the sets, run every item and build the report (no files written)."""
    items = [loaded for path in sets for loaded in load_eval_set(path)]
    started = time.perf_counter()
    results = run_items(pipeline, items, answerer=answerer, judge=judge, progress=progress)
    known = {normalize_title(p.title) for p in getattr(pipeline, "papers", {}).values()}
    missing = sorted({t for li in items for t in li.item.gold_titles if known and normalize_title(t) not in known})
    for title in missing:
        print(f"warning: gold title not in the index: {title!r}", file=sys.stderr)
    meta = {
        "sets": [str(p) for p in sets],
        "answerer": answerer,
        "hits_depth": max((len(r.retrieved) for r in results), default=None),
        "abstain_threshold": abstain_threshold(pipeline),
        "seconds": round(time.perf_counter() - started, 2),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "gold_titles_not_in_index": missing,
    }
    return build_report(results, judge, meta)


def summary_table(report: EvalReport) -> str:
    from rag.evals.tables import summary_table as table

    return table(report.to_dict())


def output_folder(out: Path) -> Path:
    """``out`` made ready for a report before the run (a run of many minutes must not end in a traceback because
    ``--out`` names a file): created if missing, else a writable folder; a ``ConfigError`` naming the fix."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; name a folder for report.json, report.md and the plots")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".rag-write-check"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--out {out} cannot hold the report ({exc.strerror or exc}); name a folder that is "
                          "missing or writable") from None
    return out


def write_outputs(report: EvalReport, out: Path, compare: Mapping[str, Any] | None = None) -> list[Path]:
    from rag.evals.report import write_report

    return write_report(report.to_dict(), out, compare)


def load_report(path: Path) -> dict[str, Any]:
    """An earlier report.json (for ``--compare``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the report to compare with ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("aggregate"), dict):
        raise ConfigError(f"{path}: not a report.json of `rag eval` (no 'aggregate' object)")
    return data


def run_eval_command(
    settings: Settings,
    args: argparse.Namespace,
    *,
    pipeline: Pipeline | None = None,
    llm_client: Any = None,
    embedder: Embedder | None = None,
    progress: bool = True,
) -> int:
    """``rag eval``: run the sets, write report.json, report.md and plots to ``--out``, print the summary,
    and with ``--thresholds`` return 1 when any aggregate metric misses its threshold.

    ``pipeline`` and ``llm_client`` (the judge's) are for tests; by default they come from ``settings``, the
    pipeline opened with ``embedder`` (default: the configured one).
    """
    for path in args.sets:
        load_eval_set(path)  # fail fast on a bad set, before loading models
    output_folder(Path(args.out))  # and on an --out that cannot hold the report
    thresholds = load_thresholds(args.thresholds) if args.thresholds else None
    compare = load_report(args.compare) if args.compare else None
    if pipeline is None:
        from rag.answer.llm import make_llm_client
        from rag.pipeline import Pipeline

        llm_client = make_llm_client(settings)
        pipeline = Pipeline.open(settings, embedder=embedder, llm_client=llm_client)
    if args.answerer == "llm" and pipeline.llm_answerer is None:
        raise ConfigError("--answerer llm needs an LLM; set OPENAI_API_KEY (and OPENAI_BASE_URL for other servers)")
    judge = None
    if llm_client is not None:
        judge = LLMJudge(
            llm_client, settings.llm_model, Path(settings.data_dir) / "eval-judge-cache", settings.prompts_dir
        )
    report = evaluate(pipeline, args.sets, answerer=args.answerer, judge=judge, progress=progress)
    files = write_outputs(report, args.out, compare)
    print(summary_table(report))
    print(f"\n{len(report.results)} items in {report.meta['seconds']:.1f} s; wrote " + ", ".join(str(f) for f in files))
    if thresholds is not None:
        failures = check_thresholds(report.aggregate, thresholds)
        if failures:
            print(f"\nFAILED: {len(failures)} metric(s) below threshold ({args.thresholds}):", file=sys.stderr)
            for line in failures:
                print(f"  {line}", file=sys.stderr)
            return 1
        print(f"\nAll {len(thresholds)} thresholds met ({args.thresholds}).")
    return 0


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m rag.evals.runner --write-thresholds REPORT [--out FILE] [--margin M]``."""
    parser = argparse.ArgumentParser(prog="python -m rag.evals.runner", description=__doc__.split("\n\n")[0])
    parser.add_argument("--write-thresholds", type=Path, required=True, metavar="REPORT", help="a report.json")
    parser.add_argument("--out", type=Path, default=Path("evals/thresholds.json"))
    parser.add_argument("--margin", type=float, default=THRESHOLD_MARGIN)
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        report = load_report(args.write_thresholds)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    thresholds = {
        "_comment": f"measured on {report.get('meta', {}).get('sets')} with the "
        f"{report.get('meta', {}).get('answerer')} answerer at {report.get('meta', {}).get('created')} "
        f"(faithfulness tier: {report.get('meta', {}).get('faithfulness_tier')}); "
        f"min = floor2(value - m), max = ceil2(value + m), m = max({args.margin}, one item's share of the metric). "
        "Regenerate: make eval && "
        "python -m rag.evals.runner --write-thresholds eval-out/report.json --out evals/thresholds.json",
        **thresholds_from(report["aggregate"], args.margin, denominators(report.get("items") or [])),
    }
    args.out.write_text(json.dumps(thresholds, indent=2) + "\n")
    print(f"wrote {len(thresholds) - 1} thresholds to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
