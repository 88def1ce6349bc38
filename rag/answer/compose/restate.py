"""Restating a follow-up: "what about X?" and "and X?" as the last question asked of X, "how does it compare to X?"
as a comparison of the paper under discussion with X, an opening topic switch dropped, and a definition question
about a term the last turn never used."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from rag.answer.compose.chat import POINTING, PRONOUN, TOPIC_SWITCH, IsName, asked_term_words, no_names, turns
from rag.answer.compose.cited import cited_sources
from rag.answer.compose.definitions import defined_term
from rag.answer.compose.naming import a_paper_name, proposes
from rag.answer.compose.standalone import coined_subject
from rag.text import QUESTION_WORDS, STOPWORDS, key_terms, named_entities, strip_markers, tokenize

_OTHER_SUBJECT = re.compile(
    r"^\W*(?:and\s+)?(?:what|how) about\s+(?P<subject>[^?]+)"
    r"|^\W*and\s+(?!(?:on|in|for|with|of|at|by|from|to|the|a|an)\b)(?P<short>[^?\s]+(?:\s+[^?\s]+){0,2}?)\s*\?+\s*$",
    re.IGNORECASE,
)
"""Another subject asked the last question: "what about sparsemax?", "and mixout?" (not "and on GSM8K?")."""


_IT = r"(?:it|this|that|this (?:paper|method|model|approach|work)|the (?:paper|method|model|approach))"
_IT_VERSUS = re.compile(
    rf"^\W*(?:(?:so|and|ok|okay|then|but)\W+)?(?:how (?:does|do|did|would|will) (?P<it>{_IT}) (?:compare|stack up|fare|"
    r"differ)(?: (?:to|with|against|from))?|(?:compare|contrast) (?P<it2>" + _IT + r") (?:to|with|and|against)"
    rf"|(?:is|was) (?P<it3>{_IT}) (?:better|worse|faster|slower|different) than|(?P<it4>{_IT}) (?:vs\.?|versus))"
    r"\s+(?P<other>[^?]+?)\s*\??\s*$",
    re.IGNORECASE,
)
"""A follow-up that sets the paper under discussion against another subject: "how does it compare to DIMAT?",
"compare it with SENTINEL", "is it better than LoRA?", "it vs T-JEPA"."""


def asks_new_term(question: str, history: Sequence[dict[str, str]]) -> bool:
    """Whether a definition question ("what is X?", "how does X work?") asks about a term of two or more words that
    the last turn never used as a phrase: "what is in-context learning?" after a chat about TIES-Merging and "how does
    early dropout work?" after one about mixout (which is "motivated by dropout") are new questions; "what is
    speedup?" and "what is the merging step?" (a pointer) stay follow-ups. ("What about X?" is not read this way: X
    is often in the abstract under discussion but not in the last answer, "what about hyperparameter tuning?" after
    TabPFN.)"""
    def words(text: str) -> list[str]:  # "in-context" and "in context" alike: its parts, not the joined token
        return [t for t in tokenize(text) if t not in STOPWORDS and "-" not in t]

    term = words(" ".join(asked_term_words(question)))
    said = words(" ".join(strip_markers(t) for t in [*turns(history, "user")[-1:], *turns(history, "assistant")[-1:]]))
    return len(term) >= 2 and not any(said[i : i + len(term)] == term for i in range(len(said)))


_AFTER_SWITCH = re.compile(r"\s*[:,.;!\u2013\u2014-]+\s*|\s+(?=(?:what|which|how|who|why|when|where|is|are|does|do|"
                           r"can|tell|explain|compare|list)\b)", re.IGNORECASE)


_CARRIES_ON = re.compile(r"^\s*ok(?:ay)?,? and\b", re.IGNORECASE)


def without_switch(question: str) -> str:
    """``question`` without an opener that announces a new topic ("Switching topics: what is SPLADE?" -> "what is
    SPLADE?"); unchanged when it has none, when nothing of two words or more follows it, or when what follows points
    back ("never mind, how is it trained?", "ok, and how is it evaluated?": no new topic after all)."""
    opener = TOPIC_SWITCH.match(question)
    if opener and _CARRIES_ON.match(question):  # "ok, and what datasets?" goes on with the last topic
        return question
    after = _AFTER_SWITCH.match(question, opener.end()) if opener else None
    rest = question[after.end():] if after else ""
    return rest if len(rest.split()) >= 2 and not PRONOUN.search(rest) else question  # "never mind, how is it ...?"


_DESCRIBED = re.compile(
    r"^\W*(?:(?:and|also|so|ok(?:ay)?|then|now|what about|how about)\W+)?(?:the|that) (?:"
    r"(?P<desc>(?:[\w-]+ ){1,5}?)(?:one|paper|work|study|method|model|approach)"
    r"|(?:one|paper|work|study) (?:about|on|that|which|with|using|where) (?P<about>[^,:;?\u2013\u2014]+?))"
    r"\s*(?:[,:;\u2013\u2014]|\s-+\s)\s*(?P<rest>\S.*)$",
    re.IGNORECASE,
)
"""A follow-up that turns to another paper by what it is about, then asks: "and the artificial text detection one,
which model's residual stream?", "and the one about class collapse - what causes it?"."""
_NO_DESCRIPTION = frozenset(tokenize("other last former latter same previous above below earlier next first second "
                                     "third fourth fifth original older newer newest latest"))


def described_switch(question: str) -> str:
    """For a follow-up that turns to a paper it describes ("and the induction head paper - why is emergence
    abrupt?"), the description and the question ("induction head why is emergence abrupt?"): the words that find
    that paper, not those of the paper under discussion. The description needs two content words or a coined name,
    and no pointer word ("the other one, ...", "the second paper - ..." point at the last answer's sources);
    ``question`` unchanged otherwise."""
    match = _DESCRIBED.match(question)
    if not match:
        return question
    description, rest = match.group("desc") or match.group("about"), match.group("rest")
    content = [t for t in tokenize(description) if t not in STOPWORDS and not t.isdigit()]
    if _NO_DESCRIPTION & set(content) or PRONOUN.search(description) or len(rest.split()) < 2:
        return question
    if len(content) < 2 and not named_entities(f"x {description}"):
        return question
    return f"{description.strip()} {rest}"


def other_subject(question: str) -> str:
    """What "what about X?" or "and X?" asks about (X), or ""."""
    match = _OTHER_SUBJECT.match(question)
    return (match.group("subject") or match.group("short")) if match else ""


def names_subject(text: str, is_name: IsName) -> bool:
    """Whether ``text`` (after "what about") names a subject: a name as written ("TIES-Merging", "DIMAT") or a
    lower-case word that names a paper ("sparsemax"); "the speedup", "latency", "the baselines" do not."""
    if PRONOUN.search(text):  # "what about its pitfalls?": the same paper
        return False
    return bool(named_entities(f"x {text}")) or any(is_name(w) for w in re.findall(r"[a-z][\w-]{2,}", text.lower()))


_NEW_TOPIC_WORDS = 3
_ASK_STARTS = re.compile(r"[,;:]|\s(?:does|do|did|is|are|was|were|can|could|how|what|which|why)\b", re.IGNORECASE)


def new_to_chat(subject: str, history: Sequence[dict[str, str]]) -> bool:
    """Whether ``subject`` (after "what about") is a topic the chat never touched: ``_NEW_TOPIC_WORDS`` content words
    or more before its own ask ("token merging for semantic binding, does that need training?"), none of them in any
    earlier turn. "What about larger models?" or "what about the memory cost?" stay on the paper under discussion."""
    topic = _ASK_STARTS.split(subject, maxsplit=1)[0]
    if PRONOUN.search(topic):
        return False
    words = {t for t in tokenize(topic) if t not in STOPWORDS}
    said = {t for turn in history for t in tokenize(strip_markers(turn.get("content", "")))}
    return len(words) >= _NEW_TOPIC_WORDS and not words & said


def restated(question: str, history: Sequence[dict[str, str]], is_name: IsName = no_names,
              names_paper: IsName | None = None) -> str:
    """"What about X?" (X naming a subject) as the last question asked of X: "What is WINA?", "what about RLHF?"
    -> "What is RLHF?"; "how does it compare to X?" as a comparison with X (``versus_it``); "" when it is no such
    question, or the last question names no single subject to swap. A last question that was itself "what about
    Y?" counts as its restatement."""
    users = turns(history, "user")
    answers = turns(history, "assistant")
    return restated_after(question, users, is_name) or versus_it(question, users, answers[-1:], is_name, names_paper)


def restated_after(question: str, users: Sequence[str], is_name: IsName) -> str:
    other = other_subject(question)
    if not users or not other:
        return ""
    last = restated_after(users[-1], users[:-1], is_name) or users[-1]
    if names_subject(other, is_name):
        subjects = {n.lower() for n in [*named_entities(last), *coined_subject(last, is_name)]}
    elif _a_term(other) and defined_term(last) and not named_entities(last):  # "and late dropout?" after "What
        # does early dropout mean?"; not after "What is the speed-up of MaxSup?", an aspect of a named paper
        subjects = {defined_term(last).lower()}
    else:
        return ""
    if len(subjects) != 1:  # "How do TIES-Merging and DIMAT differ?": which one would X replace?
        return ""
    new = other.strip().rstrip(".!")
    swapped = re.sub(rf"(?<![\w-]){re.escape(subjects.pop())}(?![\w-])", lambda _m: new, last, count=1,
                     flags=re.IGNORECASE)
    return swapped if swapped != last else ""


def versus_it(question: str, users: Sequence[str], answers: Sequence[str] = (), is_name: IsName = no_names,
              names_paper: IsName | None = None) -> str:
    """"How does it compare to X?" as "How does <it> compare to X?", a comparison of both, when the last answer (the
    last of ``answers``) is about one paper, not a list. "It" is the one subject the last question named ("What is
    OPERA?", "how does it compare to SENTINEL?" -> "How does OPERA compare to SENTINEL?"), or, when it named none
    ("tell me more about the second one"), the paper's own name (``names_paper``) the last answer uses most. With
    ``names_paper``, "it" must be a coined name (``a_paper_name``: not "LLMs", not "Beacon" of "Activation
    Beacon") that some paper owns or the last answer proposes ("we propose ... (TIES-Merging)"). "" when it is no
    such question or no such subject is found (then "it" is left to the sources of the last answer)."""
    match = _IT_VERSUS.match(question)
    other = match.group("other").strip() if match else ""
    if not users or not other or not names_subject(other, is_name) or (answers and len(cited_sources(answers[-1])) > 1):
        return ""
    last = restated_after(users[-1], users[:-1], is_name) or users[-1]
    others = {n.lower() for n in [*named_entities(f"x {other}"), other]}
    named = {n.lower(): n for n in reversed([*named_entities(last), *coined_subject(last, is_name)])}
    subjects = [n for key, n in named.items() if key not in others]  # "TabPFN" as written, not "tabpfn"
    if names_paper is not None:  # a paper's coined name, not "LLMs" or "Beacon" of "Activation Beacon"
        told = strip_markers(answers[-1]) if answers else ""
        subjects = [n for n in subjects if a_paper_name(n) and (names_paper(n) or proposes(told, n))]
    if not subjects and answers and names_paper is not None:
        subjects = _own_name(answers[-1], names_paper, others)
    return f"How does {subjects[0]} compare to {other}?" if len(subjects) == 1 else ""


def _own_name(answer: str, names_paper: IsName, others: set[str]) -> list[str]:
    """The paper's own name an answer about one paper uses most ("CHESS", "Flex-Judge"), as a one-item list; []
    when the answer cites several papers or no own name leads."""
    if len(cited_sources(answer)) != 1:
        return []
    counts = Counter(n for n in named_entities(strip_markers(answer))
                     if n.lower() not in others and a_paper_name(n) and names_paper(n))
    ranked = counts.most_common(2)
    return [ranked[0][0]] if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]) else []


def _a_term(text: str) -> bool:
    """A short noun phrase that can stand for a defined term ("late dropout"); not a pointer ("the speedup", "its
    pitfalls": an aspect of the same subject)."""
    words = text.lower().split()
    return 0 < len(words) <= 4 and not POINTING & set(words) and not PRONOUN.search(text)


def asked_of(question: str, last: str, is_name: IsName = no_names) -> str:
    """``question`` ("What about sparsemax?") with the last question's words but not its subject: "What is the
    speed-up of MaxSup?" carries "speed-up", not "MaxSup"."""
    subject = {n.lower() for n in named_entities(last)} | set(coined_subject(last, is_name))
    subject |= set(question.lower().split())
    kept = [w for w in key_terms(last, QUESTION_WORDS) if w.lower() not in subject]
    return f"{' '.join(kept)} {question}".strip()
