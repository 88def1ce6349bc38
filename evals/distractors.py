"""How ranking and abstention hold when other papers join the bundled ones (issue 25's last goal).

Builds an index of the bundled papers plus distractors, runs ``rag eval`` on eval sets over it and over the
bundled papers alone, and prints hit@1 and abstention accuracy of each (the held-out set is read as aggregates,
like every report here). Distractors:

* ``--real``: ACLSum's 250 real ACL abstracts (``aclsum`` 0.1.2: train, val and test), coherent papers on
  neighbouring topics;
* ``--made-up N``: N papers of the scale benchmark's generator (``benchmarks/bench_scale.py``: 6-10 random ACLSum
  sentences each), optionally from ``--distinct-sentences K`` of them.

    HF_HUB_OFFLINE=1 python -m evals.distractors --real --sets dev_fit dev_val holdout --work /tmp/distractors

Measured 2026-12-07 with ``--real`` (docs/scale.md): `dev_fit` hit@1 0.947 -> 0.921, held-out 0.966 -> 0.954,
`dev_val` unchanged; abstention accuracy -0.005 on `dev_fit` and held-out.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from pathlib import Path

from evals.aclsum_data import SPLITS, load_split
from rag.settings import BUNDLED_CORPUS

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ("hit@1", "abstention_accuracy")


def real_rows() -> list[dict[str, str]]:
    """ACLSum's 250 papers as JSONL corpus rows (title, abstract)."""
    return [{"title": p.title, "abstract": p.abstract} for split in SPLITS for p in load_split(split)]


def made_up_rows(count: int, distinct: int, seed: int) -> list[str]:
    """``count`` made-up papers in the arXiv dump format, from the scale benchmark's generator."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_scale

    pool = bench_scale.aclsum_pool()
    if distinct:
        pool = (random.Random(seed).sample(pool[0], min(distinct, len(pool[0]))), pool[1], pool[2])
    return bench_scale.made_up_rows(count, 0, seed, pool)


def run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "rag.app.cli", *args], env={**os.environ, **env}, cwd=ROOT,
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode not in (0, 1):  # 1: eval thresholds, none passed here
        raise SystemExit(f"rag {args[0]} failed: {done.stderr.strip().splitlines()[-1:]}")


def figures(data_dir: Path, corpus: list[Path], sets: list[str], out: Path) -> dict[str, dict[str, float]]:
    """``{set: {figure: value}}`` of ``rag eval`` over an index of ``corpus`` kept in ``data_dir``."""
    env = {"RAG_DATA_DIR": str(data_dir), "RAG_CORPUS_PATHS": json.dumps([str(p) for p in corpus]),
           "HF_HUB_OFFLINE": "1"}  # fmt: skip
    run(["ingest", "--quiet"], env)
    result = {}
    for name in sets:
        report = out / name
        run(["eval", "--set", str(ROOT / "evals" / f"{name}.jsonl"), "--out", str(report)], env)
        aggregate = json.loads((report / "report.json").read_text(encoding="utf-8"))["aggregate"]
        result[name] = {f: float(aggregate.get(f) or 0.0) for f in FIGURES}
        print(f"[{data_dir.name}] {name}: " + ", ".join(f"{f} {v:.3f}" for f, v in result[name].items()),
              file=sys.stderr)
    return result


def table(base: dict[str, dict[str, float]], mixed: dict[str, dict[str, float]], label: str) -> list[str]:
    lines = ["| set | " + " | ".join(f"{f}: bundled -> {label}" for f in FIGURES) + " |",
             "|---|" + "---:|" * len(FIGURES)]  # fmt: skip
    for name in base:
        cells = [f"{base[name][f]:.3f} -> {mixed[name][f]:.3f} ({mixed[name][f] - base[name][f]:+.3f})"
                 for f in FIGURES]  # fmt: skip
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real", action="store_true", help="add ACLSum's 250 real abstracts")
    parser.add_argument("--made-up", type=int, default=0, metavar="N", help="add N made-up papers")
    parser.add_argument("--distinct-sentences", type=int, default=0, metavar="K")
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--sets", nargs="+", default=["dev_fit", "dev_val", "holdout"])
    parser.add_argument("--work", type=Path, required=True, help="folder for the corpora, indexes and reports")
    args = parser.parse_args()
    if not args.real and not args.made_up:
        parser.error("name some distractors: --real and/or --made-up N")
    args.work.mkdir(parents=True, exist_ok=True)
    extra: list[Path] = []
    if args.real:
        extra.append(args.work / "real.jsonl")
        extra[-1].write_text("".join(json.dumps(r) + "\n" for r in real_rows()), encoding="utf-8")
    if args.made_up:
        extra.append(args.work / "made-up.json")
        extra[-1].write_text("".join(made_up_rows(args.made_up, args.distinct_sentences, args.seed)), "utf-8")
    base = figures(args.work / "index-bundled", [BUNDLED_CORPUS], args.sets, args.work / "bundled")
    mixed = figures(args.work / "index-mixed", [BUNDLED_CORPUS, *extra], args.sets, args.work / "mixed")
    label = " + ".join(([] if not args.real else ["250 real"]) + ([f"{args.made_up} made-up"] if args.made_up else []))
    print("\n".join(table(base, mixed, label)))


if __name__ == "__main__":
    main()
