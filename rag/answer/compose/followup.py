"""Follow-up questions resolved from the conversation; a question that stands on its own is left alone."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.answer.compose.cited import Cited, cited_sources, refers_to
from rag.answer.compose.lead import coined_names, own_subject, subject
from rag.answer.compose.slots import defined_term
from rag.text import QUESTION_WORDS, STOPWORDS, key_terms, named_entities, strip_markers, tokenize
from rag.types import Retrieved

_TOPIC_SWITCH = re.compile(
    r"^\s*(?:different question|switching topics?|unrelated|another question|new question|on another note|"
    r"changing (?:the )?subject|ok(?:ay)?,? (?:and|now|next)|never ?mind|forget (?:that|this|it|about)|moving on|"
    r"on a different note|something else)\b",
    re.IGNORECASE,
)
_EACH = r"(?:does|do|did) each|each (?:of (?:them|these|those|the two)|one|paper|method|approach|model|work|study)"
"""Wording that points at every paper of the last answer ("What does each find?")."""
_END = r"(?=\s*(?:[?.!,;:)]|$))"
"""Nothing but punctuation after: "the 2nd?" points at a source, "the 2nd stage of ..." does not."""
_NOT_A_POINTER = r"(?!\s*(?:times|x\b|%|percent|billion|million|[bmk]\b|[.,]\d|-))"
"""After "paper 7": a quantity ("7 times faster", "7B", "7.5"), not a source's number."""
_NUMBERED = (rf"\b(?:the|that) (?P<nth>\d{{1,2}})(?:st|nd|rd|th)(?: (?:one|paper|source|result)\b|{_END})"
             r"|\[(?P<marker>\d{1,2})\]|\b(?:source|ref(?:erence)?)\s*#?(?P<label>\d{1,2})\b"
             rf"|\b(?:paper|result|number|no\.?)\s*(?:#(?P<hash>\d{{1,2}})\b|(?P<end>\d{{1,2}})\b{_NOT_A_POINTER})")
"""A source of the last answer pointed at by its number: "the 2nd (paper)", "[2]", "source 2", "paper #2",
"what did paper 2 find?"; not "the 1st step", "paper 7 times faster"."""
_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_POINTED = (r"(?=\s+(?:one|paper|source|result|article|work|method|approach|do|does|did|say|says|use|uses|need|needs|"
            r"find|finds|found|compare|compares|propose|proposes|work|works|have|has|is|was|than|vs|versus|"
            r"better|worse|faster|slower|more|less)\b|\s+(?:and|or) (?:the|that) (?:first|second|third|fourth|fifth|"
            rf"last)\b|{_END})")
"""After "the second": a noun or verb of a source ("the second one", "does the second need ...", "the second?"),
or another pointer or a comparison ("the first or the second", "the first better than"), not "the first two steps"
or "the first layer"."""
_ORDINAL_WORD = rf"(?:the|that) (?:(?:{'|'.join(_WORDS)}){_POINTED}|(?:last|former|latter)\b)"
_REFERENCE = re.compile(
    rf"\b(?:of them|of these|of those|{_ORDINAL_WORD}"
    r"|these (?:papers|methods|works)|those (?:papers|methods|works)|both"
    rf"|{_EACH})\b|{_NUMBERED}",
    re.IGNORECASE,
)
_PRONOUN = re.compile(
    r"\b(it|its|they|them|their|theirs|this|that|these|those|he|she|his|her|the (?:paper|model|method|"
    r"approach|authors|work|study|benchmark|dataset|framework|technique|system|algorithm|heads?|task))\b",
    re.IGNORECASE,
)
_CONTINUATION = re.compile(r"^\s*(?:and|also|so|then|what about|how about)\b", re.IGNORECASE)
"""A question that opens like this carries on from the last turn ("And when is it required?")."""
_CORRECTION = re.compile(
    r"^\W*(?:no|nope|sorry|oops|actually|wait)\b\W*"
    r"(?:i\s+(?:meant|mean)|not (?:that|this|the)|the other|that'?s not)\b|\bi meant the (?:other|one|paper)\b",
    re.IGNORECASE,
)
"""A turn that says the last answer was about the wrong paper ("No, I meant the one that ...")."""
_ASKED_DETAIL = re.compile(
    r"^\W*(?:what|which|how many|how much)\s+(?:\S+\s+){1,3}?(?:does|did|do|is|are|was|were|can|could|has|have|had)"
    r"\s+(?:it|its|they|their|this|these|that|those|the (?:paper|model|method|approach|authors|work|study))\b",
    re.IGNORECASE,
)
"""A question whose names come before a pronoun that is its subject ("What GPU does it use?", "How many GPUs did
they train on?"): the names are the detail asked about, not what the question is about."""
SHORT = 6
"""A question of at most this many words naming no paper of its own asks about the one under discussion."""
ANTECEDENT_TERMS = 5
"""A question with this many content words before its first pronoun names what the pronoun stands for
("Once in-context learning emerges in a transformer, does it stick around?")."""
_SELF_CONTAINED = re.compile(r"\b(?:which|what|any|is there an?|are there)\b[^?]*\b(?:paper|papers|work|study)\b",
                             re.IGNORECASE)

_DEFINED = re.compile(r"^\W*(?:what(?:'s|s| is| are)|define|explain|describe|tell me about)\s+(?P<term>[a-z][\w\s-]*?)"
                      r"\s*(?:[?.!]|$)")
"""A question that asks what a lower-case term is, and nothing else: "what is sparsemax?", "explain tabpfn"."""
_POINTING = frozenset({"the", "a", "an", "its", "their", "this", "that", "these", "those", "it", "they", "them",
                       "his", "her", "our", "your", "such", "both", "each"})


IsName = Callable[[str], bool]
"""Whether a word typed in lower case names a paper (``rag.retrieve.names.NameWords.names``: "sparsemax")."""


def no_names(word: str) -> bool:
    """Without the corpus, no lower-case word is a name."""
    return False


def coined_subject(question: str, is_name: IsName = no_names) -> list[str]:
    """The words that name what a definition question asks about when the user typed them in lower case: words
    that name a paper (``is_name``) in a term of at most four words with no article or pronoun. "What is
    sparsemax?" names its subject, as "What is Sparsemax?" does; "what is the speedup?", "what is its size?",
    "what is speedup?" and "what is attention?" name nothing."""
    match = _DEFINED.match(question.lower())
    words = match.group("term").split() if match else []
    if not words or len(words) > 4 or _POINTING & set(words):
        return []
    return [w for w in words if w not in STOPWORDS and is_name(w)]


def stands_alone(question: str, is_name: IsName = no_names, names_paper: IsName | None = None) -> bool:
    """Whether ``question`` needs no earlier turn: it announces a new topic, or it names its own subject
    (a method name or acronym before any pronoun, or "which paper ..."), and it does not point back
    ("which of them", "the second one") or carry on ("And when ...?", "What about ...?"). With ``names_paper``
    (whether a name is some paper's own), a short question naming only what papers mention ("MMLU gain?", "how
    many fewer params than LoRA", "numbers for T5?") asks about the paper under discussion."""
    if _TOPIC_SWITCH.search(question):
        return True
    if _REFERENCE.search(question) or _FIRST_N.search(question):  # "what are the first two papers about?"
        return False
    pronoun = _PRONOUN.search(question)
    names = named_entities(question) or coined_subject(question, is_name)
    if (names and names_paper is not None and len(question.split()) <= SHORT and not any(map(names_paper, names))
            and not _WHICH_ONE.search(question)):  # "which one decodes fMRI?" after a list asks afresh (_picks_among)
        return False
    if names and not _ASKED_DETAIL.search(question):
        first_name = question.find(names[0])
        if pronoun is None or first_name < pronoun.start():
            return True
    if pronoun is None and _SELF_CONTAINED.search(question):
        return True
    if _CONTINUATION.search(question):
        return False
    if pronoun is not None:
        return len(key_terms(question[: pronoun.start()], QUESTION_WORDS)) >= ANTECEDENT_TERMS
    return len(key_terms(question, QUESTION_WORDS)) >= 4


def resolve_followup(question: str, history: Sequence[dict[str, str]], is_name: IsName = no_names,
                     names_paper: IsName | None = None) -> str:
    """A standalone query for a follow-up. One that points at one source of the last answer ("the second
    one", "it") carries that source's cited text; otherwise the previous answer's names and the previous
    question's content words come first. A correction ("No, I meant the one that ...") carries the previous
    question's words only. A question that stands on its own comes back unchanged."""
    switched = without_switch(question)
    if switched != question:  # "Switching topics: what is SPLADE?" stands alone, as "what is SPLADE?"
        return switched
    users = _turns(history, "user")
    if users and _CORRECTION.search(question):  # the last answer's papers are the wrong ones: keep the topic only
        wrong = {n.lower() for n in coined_names(users[-1])}  # "DIMAT"
        kept = [w for w in key_terms(users[-1], QUESTION_WORDS) if w.lower() not in question.lower()
                and w.lower() not in wrong]
        return f"{' '.join(kept)} {question}".strip()
    other = _other_subject(question)
    again = _restated(question, users, is_name)  # "what about sparsemax?": the last question, asked of sparsemax
    if again or (users and other and _names_subject(other, is_name)):
        return again or _asked_of(question, users[-1], is_name)
    answers = _turns(history, "assistant")
    among = bool(answers) and _picks_among(question, cited_sources(answers[-1]), users[-1] if users else "")
    if not users or (stands_alone(question, is_name, names_paper) and not among) or _new_term(question, history):
        return question
    pointed = referents(question, history)
    if len(pointed) == 1:
        carried_text = f"{' '.join(pointed[0].texts)} {users[-1]}"
        kept = [w for w in key_terms(carried_text, QUESTION_WORDS)[:20] if w.lower() not in question.lower()]
        return f"{' '.join(kept)} {question}".strip()
    previous_answer = strip_markers(answers[-1]) if answers else ""
    carried = key_terms(users[-1], QUESTION_WORDS)
    topic = (next((u for u in reversed(users[:-1]) if stands_alone(u, is_name)), None)
             if not stands_alone(users[-1], is_name) else None)
    if topic is not None:  # the last question was a follow-up too ("how do they differ?"): its topic found the papers
        carried = _with_new(carried, key_terms(topic, QUESTION_WORDS))
    # "which of them" keeps the last question's wording, which found those papers; a comparison of them ("compare
    # the two") reads differently from it, so it also carries their names, as a question about no cited paper does
    if not pointed or _BOTH_COMPARED.search(question):
        carried = _with_new(carried, named_entities(previous_answer)[:6])
    for cited in pointed if len(pointed) <= 3 else ():  # "compare the first two": each one's label (its title)
        labels = [t.split(": ", 1)[0] for t in cited.texts if ": " in t]
        carried = _with_new(carried, key_terms(labels[0], QUESTION_WORDS)[: 6 if len(pointed) <= 2 else 3]
                            if labels else [])
    kept = [w for w in carried if w.lower() not in question.lower()]
    return f"{' '.join(kept)} {question}".strip() if kept else question


_MEANT = re.compile(r"\b(?:meant|mean|not that|not this|the other)\b", re.IGNORECASE)
_POINTER_WORDS = frozenset(tokenize("paper one work method approach study other"))


def corrects_to(question: str, retrieved: Retrieved, history: Sequence[dict[str, str]] = ()) -> int | None:
    """For a correction that names the meant paper by its title's words ("no, I meant the on-policy
    self-judgment paper"), the hit among the first five whose title holds every one of them (two at least) and
    that the correction does not rule out (``corrected_hits``: "sorry, I meant the label smoothing paper" after
    an answer from MaxSup, a label smoothing paper, is not MaxSup); None otherwise."""
    if not _CORRECTION.search(question):
        return None
    wrong = corrected_hits(question, history, retrieved)
    meant = _MEANT.split(question, maxsplit=1)[-1]
    words = {t for t in tokenize(meant) if t not in STOPWORDS and t not in _POINTER_WORDS}
    if len(words) < 2:
        return None
    return next((h for h, hit in enumerate(retrieved.hits[:5])
                 if h not in wrong and words <= set(tokenize(hit.paper.title))), None)


_OTHER_SUBJECT = re.compile(
    r"^\W*(?:and\s+)?(?:what|how) about\s+(?P<subject>[^?]+)"
    r"|^\W*and\s+(?!(?:on|in|for|with|of|at|by|from|to|the|a|an)\b)(?P<short>[^?\s]+(?:\s+[^?\s]+){0,2}?)\s*\?+\s*$",
    re.IGNORECASE,
)
"""Another subject asked the last question: "what about sparsemax?", "and mixout?" (not "and on GSM8K?")."""


def _new_term(question: str, history: Sequence[dict[str, str]]) -> bool:
    """Whether a definition question asks about a term of two or more words that the last turn never used: "what
    is in-context learning?" after a chat about TIES-Merging is a new question; "what is speedup?" and "what is
    the merging step?" (a pointer) stay follow-ups."""
    match = _DEFINED.match(question.lower())
    words = match.group("term").split() if match else []
    if not words or len(words) > 4 or _POINTING & set(words):
        return False
    term = {t for t in tokenize(" ".join(words)) if t not in STOPWORDS}
    last = " ".join(strip_markers(t) for t in [*_turns(history, "user")[-1:], *_turns(history, "assistant")[-1:]])
    return len(term) >= 2 and not term & set(tokenize(last))


_AFTER_SWITCH = re.compile(r"\s*[:,.;!\u2013\u2014-]+\s*|\s+(?=(?:what|which|how|who|why|when|where|is|are|does|do|"
                           r"can|tell|explain|compare|list)\b)", re.IGNORECASE)


_CARRIES_ON = re.compile(r"^\s*ok(?:ay)?,? and\b", re.IGNORECASE)


def without_switch(question: str) -> str:
    """``question`` without an opener that announces a new topic ("Switching topics: what is SPLADE?" -> "what is
    SPLADE?"); unchanged when it has none, when nothing of two words or more follows it, or when what follows points
    back ("never mind, how is it trained?", "ok, and how is it evaluated?": no new topic after all)."""
    opener = _TOPIC_SWITCH.match(question)
    if opener and _CARRIES_ON.match(question):  # "ok, and what datasets?" goes on with the last topic
        return question
    after = _AFTER_SWITCH.match(question, opener.end()) if opener else None
    rest = question[after.end():] if after else ""
    return rest if len(rest.split()) >= 2 and not _PRONOUN.search(rest) else question  # "ok, and how is it ...?"


def _other_subject(question: str) -> str:
    """What "what about X?" or "and X?" asks about (X), or ""."""
    match = _OTHER_SUBJECT.match(question)
    return (match.group("subject") or match.group("short")) if match else ""


def _names_subject(text: str, is_name: IsName) -> bool:
    """Whether ``text`` (after "what about") names a subject: a name as written ("TIES-Merging", "DIMAT") or a
    lower-case word that names a paper ("sparsemax"); "the speedup", "latency", "the baselines" do not."""
    if _PRONOUN.search(text):  # "what about its pitfalls?": the same paper
        return False
    return bool(named_entities(f"x {text}")) or any(is_name(w) for w in re.findall(r"[a-z][\w-]{2,}", text.lower()))


def restated(question: str, history: Sequence[dict[str, str]], is_name: IsName = no_names) -> str:
    """"What about X?" (X naming a subject) as the last question asked of X: "What is WINA?", "what about RLHF?"
    -> "What is RLHF?"; "" when it is no such question, or the last question names no single subject to swap.
    A last question that was itself "what about Y?" counts as its restatement."""
    return _restated(question, _turns(history, "user"), is_name)


def _restated(question: str, users: Sequence[str], is_name: IsName) -> str:
    other = _other_subject(question)
    if not users or not other:
        return ""
    last = _restated(users[-1], users[:-1], is_name) or users[-1]
    if _names_subject(other, is_name):
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


def _a_term(text: str) -> bool:
    """A short noun phrase that can stand for a defined term ("late dropout"); not a pointer ("the speedup", "its
    pitfalls": an aspect of the same subject)."""
    words = text.lower().split()
    return 0 < len(words) <= 4 and not _POINTING & set(words) and not _PRONOUN.search(text)


def _asked_of(question: str, last: str, is_name: IsName = no_names) -> str:
    """``question`` ("What about sparsemax?") with the last question's words but not its subject: "What is the
    speed-up of MaxSup?" carries "speed-up", not "MaxSup"."""
    subject = {n.lower() for n in named_entities(last)} | set(coined_subject(last, is_name))
    subject |= set(question.lower().split())
    kept = [w for w in key_terms(last, QUESTION_WORDS) if w.lower() not in subject]
    return f"{' '.join(kept)} {question}".strip()


def _turns(history: Sequence[dict[str, str]], role: str) -> list[str]:
    """The non-empty turns of ``role`` ("user" or "assistant"), oldest first."""
    return [t["content"] for t in history if t.get("role") == role and t.get("content", "").strip()]


def _with_new(words: list[str], more: Sequence[str]) -> list[str]:
    """``words`` followed by those of ``more`` not among them (case-insensitive)."""
    seen = {w.lower() for w in words}
    return words + [w for w in more if w.lower() not in seen]


# --- what the previous answer cited -------------------------------------------------------------------

_ORDINAL = re.compile(rf"\b{_ORDINAL_WORD}|{_NUMBERED}", re.IGNORECASE)
"""A pointer at one source of the last answer: "the second (one)" or a number (``_NUMBERED``)."""
_ORDINALS = {**{w: i for i, w in enumerate(_WORDS)}, "former": 0, "last": -1, "latter": -1}


def _ordinal_index(match: re.Match[str]) -> int:
    """The 0-based source index an ``_ORDINAL`` match points at (-1: the last)."""
    number = next((match.group(g) for g in ("nth", "marker", "label", "hash", "end") if match.group(g)), None)
    return int(number) - 1 if number else _ORDINALS[match.group(0).split()[-1].lower()]  # "the second" -> 1
_COUNTS = {"two": 2, "three": 3, "four": 4, "2": 2, "3": 3, "4": 4}
_FIRST_N = re.compile(
    r"\b(?:the )?(?:first|top) (?P<n>two|three|four|[234])(?: (?:papers?|ones|sources|results|hits|works))?"
    r"(?![\w-])(?! (?:of|in)\b)(?! (?!(?:does|has|is|was|uses|says|needs|proposes|finds|works|compares|differs|"
    r"shows|claims|reports|as|vs)\b)[a-z]+s\b)",
    re.IGNORECASE,
)
"""A pointer at the first sources of the last answer: "compare the first two", "what are the first two papers
about?", "how do the top 3 differ?"; not "the first two steps of X", "the first three layers", "the first
two-stage method" (a plural noun, a hyphen or "of" after the number)."""
_GROUP = re.compile(
    rf"\b(?:of them|of these|of those|(?:these|those) (?:papers|methods|works|approaches)|both|either|which ones?|"
    rf"{_EACH})\b",
    re.IGNORECASE
)
_COMPARATIVE = r"(?:better|best|faster|slower|more|less|fewer|cheaper|larger|smaller|stronger|higher|lower)\b"
_WHICH_BETTER = re.compile(rf"\bwhich (?:(?:one|of them|of the two)\b[^?]{{0,40}}?\b|is ){_COMPARATIVE}", re.IGNORECASE)
""""Which one is better?", "which of the two needs less data?", "which is faster?" (not "which is the best loss")."""


_EACH_OF_THEM = re.compile(r"\b(?:do|does|did|are|were|can) (?:both|each)\b|\bboth of them\b", re.IGNORECASE)


def asks_which_is_better(question: str) -> bool:
    """Whether a follow-up asks which of the papers pointed at is better, faster, cheaper ... ("which one is
    better?"): a comparison of them, each on its own line, answered although the abstention model doubts it."""
    return _WHICH_BETTER.search(question) is not None


def asks_of_each(question: str) -> bool:
    """Whether a follow-up asks the same of both or each paper pointed at ("do both need training?", "is the
    first better than the second?"): one line each, but refused like any question when the abstention model
    doubts it ("does each of them run on a Raspberry Pi?")."""
    ordinals = len(_ORDINAL.findall(question)) >= 2 and re.search(_COMPARATIVE, question, re.IGNORECASE)
    return _EACH_OF_THEM.search(question) is not None or bool(ordinals) or asks_which_is_better(question)


_THEM = r"(?:they|them|these|those|the two|the pair|both|the (?:first|top) (?:two|three|four|[234]))"
_BOTH_COMPARED = re.compile(
    rf"\b{_THEM} (?:\w+ )?differ\w*\b|\bhow (?:do|does|did|are|were|would) {_THEM} (?:\w+ )?compare"
    rf"(?:\s*\??\s*$| (?:with|to|against) (?:each other|one another))|\b(?:compare|contrast)\s+{_THEM}\b|"
    rf"\bdifferences? (?:between|among) {_THEM}\b|\b(?:{_THEM} (?:are|is)|are {_THEM}) (?:\w+ )?different\b",
    re.IGNORECASE,
)
"""A comparison of "them" with each other ("How do they differ?", "Compare the two", "How do they compare?"): every
paper of the last answer. Not "What baselines do they compare against?" or "Do they compare to X?": there "they"
are the authors, and the question is about one paper at a time."""
_AUTHORS_COMPARE = re.compile(r"\b(?:they|them|their)\b.*\b(?:compar\w*|contrast\w*|differ\w*|baselines?)\b|"
                              r"\b(?:compar\w*|contrast\w*|differ\w*|baselines?)\b.*\b(?:they|them|their)\b",
                              re.IGNORECASE)
"""After an answer from one paper, "they" comparing is its authors comparing ("What baselines do they compare
against?"), as a comparison of "them" read it before comparisons needed two papers."""
_SINGULAR = re.compile(r"\b(?:it|its|this (?:paper|method|model|approach|work)|the (?:paper|model|method|approach|"
                       r"work|authors))\b", re.IGNORECASE)


def referents(question: str, history: Sequence[dict[str, str]]) -> list[Cited]:
    """The sources of the last assistant answer that ``question`` points at: "the second one" that source, "the
    first two" those, "which of them"/"both"/"how do they differ" all of them, "it"/"this paper" the first one.
    An ordinal past the last answer's sources counts in the latest answer that has that many ("and the fifth?"
    after "what does the fourth one do?" is the fifth paper of the list before). [] when it points at none,
    when the question stands alone, or when the last answer cited nothing."""
    answers = _turns(history, "assistant")
    if not answers or _CORRECTION.search(question):  # "no, I meant ...": not those
        return []
    cited = cited_sources(answers[-1])
    users = _turns(history, "user")
    if not cited or (stands_alone(question) and not _picks_among(question, cited, users[-1] if users else "")):
        return []
    first = _FIRST_N.search(question)
    if first:  # "compare the first two"
        count = _COUNTS[first.group("n").lower()]
        return _with_sources(answers, count, cited)[:count]
    ordinals = [_ordinal_index(m) for m in _ORDINAL.finditer(question)]  # "is the first better than the second?"
    if ordinals:
        listed = _with_sources(answers, max(ordinals) + 1, cited) if min(ordinals) >= 0 else cited
        picked = [listed[n] for n in dict.fromkeys(ordinals) if -len(listed) <= n < len(listed)]
        return picked if len(picked) == len(dict.fromkeys(ordinals)) else []
    if _GROUP.search(question) or _BOTH_COMPARED.search(question) or asks_which_is_better(question):
        return cited
    if _SINGULAR.search(question) or (len(cited) == 1 and _AUTHORS_COMPARE.search(question)):
        return [cited[0]]  # "it"; "what do they compare against?" after an answer from one paper: its authors
    if len(cited) == 1 and _elliptical(question):  # "what benchmarks?" after one paper's answer: that paper's
        return [cited[0]]
    return []


_ASPECTS = frozenset(tokenize(
    "benchmark benchmarks dataset datasets data hardware gpu gpus tpu device devices speed speedup fast faster slow "
    "memory latency throughput accuracy result results score scores metric metrics baseline baselines model models "
    "size parameters tokens training train trained evaluate evaluated evaluation test tested task tasks language "
    "languages code license limitation limitations much many long cost costs compute time experiments use used run "
    "on with it its they their the a an"
))
"""The words of a short follow-up that asks for an aspect of the paper under discussion ("what benchmarks?", "on
which hardware?", "how fast?"); any other word ("what is sparsemax?", "and mixout?") names a new subject."""


def _elliptical(question: str) -> bool:
    """A short follow-up that leaves its subject out ("what benchmarks?", "on which benchmark?", "how fast?", "why?"):
    at most five words, every one a question word or an aspect (``_ASPECTS``), none asking beyond the last answer."""
    words = set(tokenize(question)) - QUESTION_WORDS - _ASPECTS
    return (len(question.split()) <= 5 and not named_entities(question) and not words
            and not _ELSEWHERE.search(question))


_ELSEWHERE = re.compile(r"\b(?:other|others|another|else|more|any|papers|works|studies)\b", re.IGNORECASE)
"""Words that ask beyond the last answer ("any other papers?")."""


_WHICH_ONE = re.compile(r"^\W*(?:(?:so|and|ok|okay|then)\W+)?which (?:one|of the (?:two|three|four))\b", re.IGNORECASE)
_COMPARING = re.compile(r"\b(?:vs\.?|versus|compare[ds]?|comparing|differ\w*|difference|contrast\w*)\b", re.IGNORECASE)


def _picks_among(question: str, cited: Sequence[Cited], last_question: str) -> bool:
    """Whether a question that reads as a new one ("which one needs no additional training?") picks among the last
    answer's papers: it opens "which one", the last question compared papers and that answer cited two or more.
    After a list ("papers on membership inference") or one paper's answer, "which one uses copyright traps?" asks
    afresh: the paper meant may be none of those cited."""
    return len(cited) >= 2 and _WHICH_ONE.search(question) is not None and bool(_COMPARING.search(last_question))


def corrected(question: str, history: Sequence[dict[str, str]]) -> list[Cited]:
    """The sources of the last answer that a correction ("No, I meant the paper asking ...") says were wrong; []
    for any other question."""
    answers = _turns(history, "assistant")
    return cited_sources(answers[-1]) if answers and _CORRECTION.search(question) else []


def _with_sources(answers: Sequence[str], count: int, last: list[Cited]) -> list[Cited]:
    """The sources of the latest answer citing at least ``count`` of them (``last``, the last answer's, if it
    does or none does)."""
    if len(last) >= count:
        return last
    for answer in reversed(answers[:-1]):
        cited = cited_sources(answer)
        if len(cited) >= count:
            return cited
    return last


def hits_of(cited: Sequence[Cited], retrieved: Retrieved) -> set[int]:
    """The hits that are the papers behind ``cited`` sources of the last answer (``refers_to``)."""
    return {h for h, hit in enumerate(retrieved.hits) if any(
        refers_to(c, hit.paper.title, hit.paper.abstract) for c in cited)}


def corrected_hits(question: str, history: Sequence[dict[str, str]], retrieved: Retrieved) -> set[int]:
    """The hits a correction says were wrong (``corrected``), unless it names them again by a coined name ("no, I
    meant how fast DIMAT converges" is still about DIMAT)."""
    names = [n.lower() for n in coined_names(question)]
    wrong = hits_of(corrected(question, history), retrieved)
    return {h for h in wrong if not any(n in f"{retrieved.hits[h].paper.title} "
                                             f"{retrieved.hits[h].paper.abstract}".lower() for n in names)}


def record_hit(question: str, standalone: str, retrieved: Retrieved, own: set[int]) -> int | None:
    """The hit whose record answers a record question: the one paper it points at ("who wrote it?"), the paper it
    names (``own_subject``: "who wrote TabPFN?"), or, in a chat and naming no other, the chat's paper ("who is the
    first author?"); None when there is none."""
    if len(own) == 1:
        return next(iter(own))
    follow = bool(standalone) and not coined_names(question)
    named = own_subject(question, retrieved) or (subject(standalone, retrieved) if follow else None)
    return named.hit if named is not None else None
