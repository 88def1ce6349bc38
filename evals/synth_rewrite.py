"""Writing questions from corpus text for ``evals/synth.py``: sentence -> question, perturbation (acronym
and synonym substitution, dropped words, swapped clauses, blurred names) and number facts."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cached_property

from evals.synth_text import GENERIC, STOP, VERBISH, WORD, Text, is_content, is_name, stem
from rag.retrieve.query import mine_acronyms
from rag.text import is_acronym
from rag.types import Paper

PAREN_NAME = re.compile(r"\s*\(([A-Za-z][\w-]{1,14})\)")
HAND_SYNONYMS = (
    ("propose", "introduce"), ("proposes", "introduces"), ("show", "demonstrate"), ("shows", "demonstrates"),
    ("improve", "enhance"), ("improves", "enhances"), ("improving", "enhancing"), ("reduce", "decrease"),
    ("reduces", "decreases"), ("reducing", "decreasing"), ("method", "technique"), ("dataset", "benchmark"),
    ("datasets", "benchmarks"), ("outperforms", "surpasses"), ("evaluate", "assess"), ("efficient", "cheap"),
    ("robust", "resilient"), ("tasks", "problems"), ("novel", "new"), ("framework", "pipeline"),
    ("pre-trained", "pretrained"), ("fine-tuning", "finetuning"), ("significantly", "substantially"),
    ("leverage", "exploit"), ("leverages", "exploits"), ("capabilities", "abilities"), ("images", "pictures"),
    ("limitations", "shortcomings"), ("neural network", "deep network"), ("state-of-the-art", "leading"),
)
DROPPABLE = frozenset(
    """significantly substantially novel simple effective efficient new various extensive also further highly
    strong specifically particular especially both very""".split()  # noqa: SIM905
)
DISCOURSE = re.compile(
    r"^(?:(?:thus motivated|specifically|moreover|furthermore|additionally|finally|then|here|however|"
    r"in particular|to this end|"
    r"in addition|as a result|consequently|thus|therefore|overall|importantly|notably|in this paper|"
    r"in this work|in this study|concretely|first|second|third|lastly|surprisingly|crucially|instead|"
    r"empirically|experimentally|theoretically),?\s+)+", re.IGNORECASE)
DANGLING = re.compile(r"(?:[,;:(]*\s*\b(?:e\.g\.?|i\.e\.?|such as|for example|including|and|or|to|of|the|a|an|"
                      r"with|by|in|on|for|as|that|which|while|from)\b\.?)+\s*[,;:(]*$", re.IGNORECASE)
"""Words a cut-off clause must not end on ("... to control their generation, to e.g.")."""
SUBJECT = re.compile(r"^(?:We|This (?:paper|work|study)|Our (?:work|paper))\s+([a-z]+)\s+(.{12,})$")
NUMBER = re.compile(r"(?<![\w.\-])\d+(?:\.\d+)?(?:%|x\b|×)?(?![\w\-])")
UNITS = re.compile(r"^(?:times|points?|tokens|parameters|samples|languages|tasks|datasets|benchmarks|fold|"
                   r"[BMK]\b|billion|million|thousand|hours|layers|images|queries)")
METRICS = (
    (re.compile(r"accura", re.I), "accuracy"), (re.compile(r"speed|faster|throughput", re.I), "speedup"),
    (re.compile(r"reduc|less|fewer|lower|decreas|sav|compress", re.I), "reduction"),
    (re.compile(r"improv|gain|increas|boost|better|higher|outperform", re.I), "improvement"),
    (re.compile(r"error", re.I), "error"), (re.compile(r"F1|BLEU|ROUGE|AUC|mAP|score|correlation", re.I), "score"),
)
CLAUSE_END = re.compile(r"[,;]\s|\)")
NOT_CONTEXT = frozenset("average times relative around nine seven five four six eight ten up compared".split())  # noqa: SIM905
HEAD_NOUNS = frozenset({"approach", "method", "methods", "model", "models", "framework", "algorithm", "loss"})
MAX_QUESTION_WORDS = 28


def strip_discourse(sentence: str) -> str:
    """The sentence without leading connectives ("Specifically, we ..." -> "We ...") and final period,
    cut at a clause boundary to at most ``MAX_QUESTION_WORDS`` words."""
    body = DISCOURSE.sub("", sentence.strip()).rstrip(" .")
    words = body.split()
    if len(words) > MAX_QUESTION_WORDS:
        cut = " ".join(words[:MAX_QUESTION_WORDS])
        comma = cut.rfind(", ")
        body = cut[:comma] if comma > len(cut) // 3 else cut
    body = DANGLING.sub("", body)
    return body[:1].upper() + body[1:] if body[:3].lower() in ("we ", "our") else body


def third_person(verb: str) -> str:
    if verb.endswith("ed") or verb in ("can", "will", "may", "must", "could", "would", "should"):
        return verb
    if verb in ("have", "are"):
        return {"have": "has", "are": "is"}[verb]
    if re.search(r"(s|sh|ch|x|z|o)$", verb):
        return verb + "es"
    return verb[:-1] + "ies" if re.search(r"[^aeiou]y$", verb) else verb + "s"


def lower_first(text: str) -> str:
    first = text.split(" ", 1)[0]
    return text if is_acronym(first) or any(c.isupper() for c in first[1:]) else text[:1].lower() + text[1:]


def to_question(body: str, rng: random.Random) -> str:
    """A declarative sentence as a question: "We propose X" -> "Which paper proposes X?", else
    "Which paper reports that <sentence>?" (and variants)."""
    match = SUBJECT.match(body)
    if match:
        verb, rest = match.groups()
        template = rng.choice(("Which paper {v} {r}?", "Is there work that {v} {r}?", "What work {v} {r}?"))
        return template.format(v=third_person(verb), r=rest)
    template = rng.choice(("Which paper reports that {s}?", "Where is it shown that {s}?",
                           "Which study finds that {s}?"))
    return template.format(s=lower_first(body))


@dataclass(frozen=True)
class NumberFact:
    """A number in a sentence with what its question needs."""

    sentence: str
    phrase: str
    """The words around the number, verbatim from the sentence (the key fact)."""
    metric: str
    context: str
    subject: str
    dataset: str
    counted: str = ""
    """The plural noun a plain count counts ("23 different approaches" -> "approaches")."""

    def question(self, rng: random.Random, pronoun: bool = False) -> str:
        subject = "it" if pronoun else self.subject
        where = f" on {self.dataset}" if self.dataset else ""
        if self.counted:
            return rng.choice(("How many {c} does {s} use{d}?", "How many {c} are reported by {s}{d}?")).format(
                c=self.counted, s=subject, d=where)
        if self.metric == "number":
            what = f" for {self.context}" if self.context else ""
            return rng.choice(("What figure does {s} give{w}{d}?", "What result does {s} report{w}{d}?")).format(
                s=subject, w=what, d=where)
        what = f"{self.metric} in {self.context}" if self.context else self.metric
        template = rng.choice(("What {w} does {s} report{d}?", "How large is the {w} reported by {s}{d}?",
                               "What {w} does {s} reach{d}?"))
        return template.format(w=what, s=subject, d=where)


class Writer:
    """Question text from one analysed corpus: its acronyms and synonyms, perturbations, number facts."""

    def __init__(self, text: Text) -> None:
        self.text = text
        vocab = {w.lower() for w in text.tokens}
        self.synonyms = {a: b for a, b in HAND_SYNONYMS if set(a.split() + b.split()) <= vocab}
        self.synonyms |= {b: a for a, b in self.synonyms.items() if b not in self.synonyms}

    @cached_property
    def acronyms(self) -> dict[str, str]:
        """Surface acronym -> an expansion mined from "long form (ACR)", and the expansion -> acronym."""
        pairs = mine_acronyms(p.abstract for p in self.text.papers)
        out: dict[str, str] = {}
        for surface in sorted(self.text.tokens, key=lambda w: (-len(self.text.tokens[w]), w)):
            plural = surface.endswith("s") and len(surface) > 2 and surface[-2].isupper()
            expansions = pairs.get((surface[:-1] if plural else surface).lower(), ())
            if is_name(surface) and expansions:
                expansion = sorted(expansions, key=lambda e: (-len(re.split(r"[\s-]", e)), e))[0]
                expansion = expansion + "s" if plural and not expansion.endswith("s") else expansion
                out[surface] = expansion
                out.setdefault(expansion, surface)
        return out

    @cached_property
    def substitutions(self) -> list[tuple[str, str, re.Pattern[str]]]:
        pairs = sorted({**self.acronyms, **self.synonyms}.items(), key=lambda kv: (-len(kv[0]), kv))
        return [(a, b, re.compile(rf"(?<![\w-]){re.escape(a)}(?![\w-])", 0 if is_acronym(a) else re.I))
                for a, b in pairs]

    def perturb(self, text: str, rng: random.Random, reorder: bool = True) -> str:
        """At least one of: substitute acronyms/expansions and synonyms, drop words, swap two clauses, blur
        (hide coined names and a word only this abstract uses, as a user who half remembers would)."""
        odds = (("sub", 0.6), ("drop", 0.5), ("swap", 0.2 if reorder else 0.0), ("blur", 0.4))
        ops = [op for op, p in odds if rng.random() < p] or ["sub"]
        if "blur" in ops:
            text = self.blur(text, rng)
        if "sub" in ops:
            text = self.substitute(text, rng)
        if "drop" in ops:
            text = re.sub(r"\s*\((?:e\.g\.|i\.e\.)[^)]*\)|\s*\([^)]{0,40}\)", "", text)
            text = " ".join(w for w in text.split(" ") if not (
                w.lower().strip(",") in DROPPABLE or (rng.random() < 0.1 and w.lower() in STOP)))
        if "swap" in ops:
            parts = re.split(r", (?:and |while |which |by )?| by | while ", text, maxsplit=1)
            if len(parts) == 2 and min(len(p.split()) for p in parts) >= 5:
                text = f"{parts[1]}, {lower_first(parts[0])}"
        return " ".join(text.split())

    def blur(self, text: str, rng: random.Random) -> str:
        """Names at most three abstracts use are hidden: the first becomes "the method" (or similar), a name
        modifying a noun ("our CHES score"), in parentheses or seen before is dropped; of two or more words
        no other abstract uses, one is dropped."""
        words = text.split(" ")
        cores = [w.strip(",.;:()'\"") for w in words]
        rare = [i for i, c in enumerate(cores) if c and not is_name(c) and self.text.df[(stem(c),)] == 1]
        drop = rng.choice(rare) if len(rare) >= 2 else -1
        out: list[str] = []
        placed = False
        for i, (word, core) in enumerate(zip(words, cores, strict=True)):
            if core and is_name(core) and self.text.df[(stem(core),)] <= 3:
                later = [c for w, c in zip(words[i + 1 :], cores[i + 1 :], strict=True) if not w.startswith("(")]
                following = later[0] if later and word == core else ""
                if placed or word.startswith("(") or (following.islower() and (is_content(following) or
                                                                                following in HEAD_NOUNS)):
                    continue
                if out and out[-1].lower() in ("the", "a", "an", "our", "this", "their", "its"):
                    out.pop()  # "our X can" -> "the method can", not "our the method can"
                out.append(word.replace(core, rng.choice(("the method", "this model", "the approach"))))
                placed = True
            elif i != drop:
                out.append(word)
        return " ".join(out)

    def substitute(self, text: str, rng: random.Random) -> str:
        """Acronym <-> expansion and synonym swaps (each 60%, longest first, never swapped back), after
        reducing "long form (ACR)" definitions to the long form."""
        text = PAREN_NAME.sub(lambda m: "" if is_acronym(m.group(1)) else m.group(0), text)
        lower = text.lower()
        placed: list[str] = []
        for source, target, pattern in self.substitutions:
            if source.lower() in lower and pattern.search(text) and rng.random() < 0.6:
                text = pattern.sub(f"\x00{len(placed)}\x00", text, count=1)
                placed.append(target)
        return re.sub("\x00(\\d+)\x00", lambda m: placed[int(m.group(1))], text)

    def key_fact(self, sentence: str) -> str:
        """A short verbatim phrase of the sentence: its first clause after any connective, <= eight words."""
        return " ".join(re.split(r"[,;:]", DISCOURSE.sub("", sentence.strip()))[0].split()[:8])

    def number_facts(self, paper: Paper, sentence: str) -> list[NumberFact]:
        """Numbers worth asking for (%, x, decimals, counted units), each with its question parts."""
        out = []
        name = self.text.name(paper)
        subject = name or f"the paper on {self.text.topic(paper)}"
        for match in NUMBER.finditer(sentence):
            number, after = match.group(0), sentence[match.end() :].lstrip()
            plural = re.match(r"(?:different |distinct |diverse )?([a-z]{4,}s)\b", after)
            counted = plural.group(1) if plural and number.isdigit() else ""
            counted = "" if counted in VERBISH or counted == "times" else counted
            if re.fullmatch(r"(?:19|20)\d\d", number) or not (
                re.search(r"[%x×.]", number) or UNITS.match(after) or counted
            ):
                continue
            start = max(sentence.rfind(c, 0, match.start()) + len(c) for c in (", ", "; ", "(", ": "))
            stop = CLAUSE_END.search(sentence, match.end())
            end = stop.start() if stop else len(sentence)
            before = sentence[start : match.start()].split()[-3:]
            after_words = sentence[match.end() : end].split()[:3]
            phrase = " ".join([*before, number, *after_words]).rstrip(".")
            if phrase not in sentence or len(phrase.split()) < 3:
                continue
            around = before + after_words
            metric = next((m for pat, m in METRICS if pat.search(" ".join(around))), "number")
            dataset_match = re.search(r"\b(?:on|across) (?:the )?([A-Z][\w\-]*[A-Z0-9][\w\-]*)", sentence[start:end])
            dataset = dataset_match.group(1) if dataset_match else ""
            context = [w for w in WORD.findall(" ".join(around)) if is_content(w) and w.lower() not in GENERIC
                       and not w[0].isdigit() and w not in (name, dataset) and not w.endswith("ed")
                       and not any(p.search(w) for p, _ in METRICS)]
            context = [w for w in context if w.lower() not in NOT_CONTEXT]
            out.append(NumberFact(sentence, phrase, metric, " ".join(context[:2]), subject, dataset, counted))
        return out
