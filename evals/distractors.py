"""How ranking and abstention hold when other papers join the bundled ones (issue 25's last goal).

Builds an index of the bundled papers plus distractors, runs ``rag eval`` on eval sets over it and over the
bundled papers alone, and prints hit@1 and abstention accuracy of each (the held-out set is read as aggregates,
like every report here). Distractors:

* ``--real``: ACLSum's 250 real ACL abstracts (``aclsum`` 0.1.2: train, val and test), coherent papers on
  neighbouring topics;
* ``--extra FILE ...``: any corpus files, e.g. the made-up papers the scale benchmark writes with ``--keep DIR``
  (``DIR/arxiv-10100.json``; ``--distinct-sentences K`` draws them from K sentences).

    HF_HUB_OFFLINE=1 python -m evals.distractors --real --sets dev_fit dev_val holdout --work /tmp/distractors

Measured 2026-12-07 with ``--real`` (docs/scale.md): `dev_fit` hit@1 0.947 -> 0.921, held-out 0.966 -> 0.954,
`dev_val` unchanged; abstention accuracy 0.930 -> 0.924 on `dev_fit`, 0.888 -> 0.883 held-out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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


def run(args: list[str], env: dict[str, str]) -> None:
    """``rag ARGS`` in a new process with ``env``; exits with rag's own last line when it fails."""
    done = subprocess.run([sys.executable, "-m", "rag.app.cli", *args], env={**os.environ, **env}, cwd=ROOT,
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise SystemExit(f"rag {args[0]} failed: {last}")


def figures(data_dir: Path, corpus: list[Path], sets: list[str], out: Path) -> dict[str, dict[str, float]]:
    """``{set: {figure: value}}`` of ``rag eval`` over an index of ``corpus`` kept in ``data_dir``."""
    env = {"RAG_DATA_DIR": str(data_dir), "RAG_CORPUS_PATHS": json.dumps([str(p) for p in corpus]),
           "HF_HUB_OFFLINE": "1"}  # fmt: skip
    run(["ingest", "--quiet"], env)
    result = {}
    for name in sets:
        report = out / name
        shutil.rmtree(report, ignore_errors=True)  # never read an earlier run's report
        run(["eval", "--set", str(ROOT / "evals" / f"{name}.jsonl"), "--out", str(report)], env)
        aggregate = json.loads((report / "report.json").read_text(encoding="utf-8"))["aggregate"]
        result[name] = {f: float(aggregate[f]) for f in FIGURES}
        print(f"[{data_dir.name}] {name}: " + ", ".join(f"{f} {v:.3f}" for f, v in result[name].items()),
              file=sys.stderr)
    return result


def table(base: dict[str, dict[str, float]], mixed: dict[str, dict[str, float]], label: str) -> list[str]:
    """A Markdown table of each set's figures, alone and with the distractors, and their change."""
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
    parser.add_argument("--extra", type=Path, nargs="+", default=[], metavar="FILE",
                        help="corpus files of more distractors (e.g. bench_scale.py --keep DIR: DIR/arxiv-10100.json)")
    parser.add_argument("--sets", nargs="+", default=["dev_fit", "dev_val", "holdout"])
    parser.add_argument("--work", type=Path, required=True, help="folder for the corpora, indexes and reports")
    args = parser.parse_args()
    if not args.real and not args.extra:
        parser.error("name some distractors: --real and/or --extra FILE")
    args.work.mkdir(parents=True, exist_ok=True)
    extra: list[Path] = [path.resolve() for path in args.extra]
    if args.real:
        extra.insert(0, args.work / "real.jsonl")
        extra[0].write_text("".join(json.dumps(r) + "\n" for r in real_rows()), encoding="utf-8")
    base = figures(args.work / "index-bundled", [BUNDLED_CORPUS], args.sets, args.work / "bundled")
    mixed = figures(args.work / "index-mixed", [BUNDLED_CORPUS, *extra], args.sets, args.work / "mixed")
    label = " + ".join((["250 real"] if args.real else []) + [path.name for path in args.extra])
    print("\n".join(table(base, mixed, label)))


if __name__ == "__main__":
    main()
