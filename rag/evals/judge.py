"""The LLM judge of faithfulness (only when an LLM is configured): verdicts per claim against the cited
abstracts, cached on disk by prompt hash."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.evals import metrics as em
from rag.prompts import render


@dataclass(frozen=True, slots=True)
class JudgeVerdict:
    claims: int
    supported_claims: int
    supporting_markers: frozenset[int]

    @property
    def supported(self) -> bool:
        return self.claims > 0 and self.supported_claims == self.claims


class LLMJudge:
    """Claim-level LLM verdicts with an on-disk cache keyed by the hash of model and prompt.

    ``client`` is an ``openai.OpenAI`` (or anything with ``chat.completions.create``).
    """

    def __init__(self, client: Any, model: str, cache_dir: Path | None, prompts_dir: Path | None = None) -> None:
        self.client = client
        self.model = model
        self.cache_dir = cache_dir
        self.prompts_dir = prompts_dir
        self.calls = 0
        self.cache_hits = 0
        self.errors = 0

    def _complete(self, prompt: str) -> str:
        key = hashlib.sha256(f"{self.model}\n{prompt}".encode()).hexdigest()
        path = self.cache_dir / f"{key}.json" if self.cache_dir else None
        if path is not None and path.exists():
            try:
                self.cache_hits += 1
                return str(json.loads(path.read_text())["response"])
            except (OSError, ValueError, KeyError):
                self.cache_hits -= 1
        self.calls += 1
        response = self.client.chat.completions.create(
            model=self.model, messages=[{"role": "user", "content": prompt}], temperature=0
        )
        content = response.choices[0].message.content or ""
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"model": self.model, "prompt": prompt, "response": content}))
            tmp.replace(path)
        return content

    def verdict(self, sentence: str, sources: Mapping[int, str]) -> JudgeVerdict | None:
        """Claims of ``sentence`` checked against ``sources`` (marker → text); None if the LLM failed."""
        listing = "\n".join(f"[{m}] {text}" for m, text in sources.items())
        prompt = render("judge", self.prompts_dir, sources=listing or "(none)", sentence=sentence)
        try:
            raw = self._complete(prompt)
            data = json.loads(_json_block(raw))
            claims = data["claims"]
            if not isinstance(claims, list):
                raise ValueError("claims is not a list")
            supported = [c for c in claims if isinstance(c, dict) and c.get("supported") is True]
            markers = frozenset(
                int(m) for c in supported for m in (c.get("sources") or []) if str(m).isdigit() and int(m) in sources
            )
            return JudgeVerdict(len(claims), len(supported), markers)
        except Exception as exc:  # the judge must never stop an eval run
            self.errors += 1
            print(f"warning: LLM judge failed ({type(exc).__name__}: {exc})", file=sys.stderr)
            return None

    def scores(self, units: Sequence[em.Unit], sources: Mapping[int, str]) -> em.CitationScores | None:
        """Judge-tier faithfulness, citation recall and precision of one answer.

        A sentence is supported when every claim is; a citation is needed when the judge lists it as
        supporting a claim of that (supported) sentence. A sentence the judge could not be asked about counts
        as unsupported (the failure is counted in ``errors`` and reported), never dropped with its answer.
        """
        if not units:
            return em.CitationScores(None, None, None, 0, 0)
        supported = needed = total = 0
        for unit in units:
            markers = list(dict.fromkeys(unit.markers))
            total += len(markers)
            cited = {m: sources[m] for m in markers if m in sources}
            if not cited:
                continue
            verdict = self.verdict(unit.text, cited)
            if verdict is not None and verdict.supported:
                supported += 1
                needed += sum(1 for m in markers if m in verdict.supporting_markers)
        share = supported / len(units)
        return em.CitationScores(share, share, needed / total if total else None, len(units), total)


def _json_block(text: str) -> str:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise ValueError(f"no JSON object in the judge reply: {text[:80]!r}")
    return text[start : end + 1]
