"""Whose name is it: coined names ("DIMAT", "TIES-Merging"), whether an abstract introduces or proposes a name
("we propose X", "a method called X"), and which retrieved paper a question is about (its ``Subject``)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from rag.answer.compose.analysis import Question
from rag.answer.compose.definitions import defined_term
from rag.answer.compose.record import names_by_title
from rag.answer.compose.slots import SPECIFIC, asks_for_a_paper
from rag.answer.notes import existence_sentence, which_paper_sentence
from rag.text import QUESTION_WORDS, STOPWORDS, named_entities, names_word, short_title, singular, tokenize
from rag.types import Paper, Retrieved

NO_ACRONYMS: Mapping[str, Collection[str]] = MappingProxyType({})
"""No acronym table: only names as written count as mentioned."""


@dataclass(frozen=True, slots=True)
class Subject:
    """The paper a question is about: hit index and the name the answer calls it by."""

    hit: int
    name: str


def subject(question: str, retrieved: Retrieved, depth: int = 2) -> Subject | None:
    """The best-ranked of the first ``depth`` hits that the question names: one of its named entities (stemmed)
    is in the paper's title or abstract, or a rare question word is in its title. None when the question names
    none of them (then the answer cannot be about "its" abstract)."""
    names = named_entities(question)
    q_tokens = [t for t in tokenize(question) if t not in STOPWORDS and len(t) >= 5]
    for h, hit in enumerate(retrieved.hits[:depth]):
        text = set(tokenize(f"{hit.paper.title} {hit.paper.abstract}"))
        title = set(tokenize(hit.paper.title))
        for name in (n for n in names if sum(c.isalpha() for c in n) >= 3):
            stems = set(tokenize(name))  # "AW-MoE": "aw-mo", "aw", "moe"
            whole = coined(name) and (len(stems) == 1 or introduces(hit.paper.abstract, name))  # a paper about it,
            if stems and stems <= text and (stems & title or whole):  # not one that only mentions it
                own = (coined(name) and not _COMPOUND.fullmatch(name)  # not "LLM" of CHESS, nor "Self-Supervised"
                       and name.lower() in short_title(hit.paper.title).lower())
                return Subject(h, name if own else short_title(hit.paper.title))
        title_words = [t for t in q_tokens if t in title and _rare(t, retrieved)]
        if title_words and h == 0:
            return Subject(h, short_title(hit.paper.title))
    return None


_COMPOUND = re.compile(r"[A-Za-z][a-z]+(?:-[A-Za-z][a-z]+)+")
"""A hyphenated compound of title-cased words ("Self-Supervised", "In-Context"): a phrase of the title, no name the
answer calls its paper by ("Q-Former" and "k-Sparse" are names)."""


def coined(name: str) -> bool:
    return any(c.isupper() for c in name[1:]) or any(c.isdigit() for c in name)


def coined_names(text: str, letters: int = 0) -> list[str]:
    """The coined names ``text`` gives (``named_entities`` that are ``coined``), those with at least ``letters``
    letters."""
    return [n for n in named_entities(text) if coined(n) and sum(c.isalpha() for c in n) >= letters]


DESCRIBING = re.compile(r"-(?:based|driven|guided|style|like|free|aware|specific|only|level|augmented|generated)$",
                        re.IGNORECASE)
"""A coined word ending in one of these describes ("MI-based representation learning", "an L2-style measure",
"LLM-generated text"); it names no paper."""


def named_things(text: str, letters: int = 0) -> list[str]:
    """``coined_names`` with a describing ending cut off (``things_named``)."""
    return things_named(coined_names(text), letters)


def things_named(names: Iterable[str], letters: int = 0) -> list[str]:
    """The coined ``names`` with a describing ending cut off (``DESCRIBING``: "XGBoost-style" names XGBoost), those
    with at least ``letters`` letters left ("L2-style" names nothing), each once."""
    cut = (DESCRIBING.sub("", n) for n in names)
    return [n for n in dict.fromkeys(cut) if coined(n) and sum(c.isalpha() for c in n) >= letters]


def _rare(token: str, retrieved: Retrieved) -> bool:
    """A word in at most one retrieved title (a paper's own name, not a topic word)."""
    return sum(token in set(tokenize(h.paper.title)) for h in retrieved.hits) <= 1


def spelled_out(name: str, text: str, spelled: Mapping[str, Collection[str]]) -> bool:
    """Whether ``text`` (lower case) holds a long form of the acronym ``name`` (``spelled``), hyphens as spaces."""
    flat = text.replace("-", " ")
    return any(long.replace("-", " ") in flat for long in spelled.get(singular(name).lower(), ()))


def introduces(abstract: str, name: str) -> bool:
    """Whether ``abstract`` is about ``name`` rather than only mentioning it: it says the paper introduces it
    (``proposes``: "we propose X", "a method called X"), or two sentences name it ("X merges ...", "X converges
    ..."). "We develop a kernel that achieves speedups of up to 9x over FlashAttention-3" does not introduce
    FlashAttention."""
    return len(sentences_naming(abstract, singular(name).lower())) >= 2 or proposes(abstract, name)


PROPOSE_REACH = 6
"""How many words may stand between the authors' introducing verb and the name it introduces ("we propose a
simple yet effective method, X")."""
_AUTHORS_VERB = (r"\b(?:we|this (?:paper|work))\s+(?:(?:\w+\s+){0,2}?|(?:\w+\s+){1,4}?to\s+)"
                 r"(?:propose|introduce|present|develop|design|devise|build|call|name|dub)(?:s|d|ed)?\b")
"""The authors' introducing verb: "we propose", "we also introduce", "this paper presents", "we use our framework
to propose"."""
AUTHORS_INTRODUCE = re.compile(r"\b(?:we|this (?:paper|work))\s+(?:\w+\s+){0,2}?(?:propose|present|introduce|"
                                r"develop)s?\b", re.IGNORECASE)
"""A piece stating the paper's own contribution ("In this work, we present a new first-stage ranker ...")."""
_OUR_KIND = r"(?:approach|method|model|framework|technique|algorithm|system|procedure)"
_CALLED = (rf"\b(?:called|named|dubbed|termed|coined)\s+(?:as\s+)?|\bour (?:proposed |new )?{_OUR_KIND},?\s+|"
           rf"\bour\s+(?:(?:proposed|new|novel)\s+)?(?:{_OUR_KIND},?\s+)?(?:(?-i:[A-Z])[\w-]*\s+){{1,6}}\(")
"""A name given: "a method called X", "our proposed approach, Loki, gains ...", or the acronym of "our" long form:
"Our Orthogonal Compatible Aligned (OCA) approach", "our procedure, Sharpness-Aware Minimization (SAM)"."""
_APPOSED = (r"(?![A-Za-z0-9])(?!-[A-Za-z0-9])"
            r"(?=\s*(?:[,:;()\[\]]|[.!?]?\s*$|\s[-–—]\s|"
            r"\s+(?:which|that|to|for|as|a|an|in|on|with|using|by|via|through|based)\b))")
"""After the name: the end of its noun phrase ("X, a ...", "X (...)", "X which ...", "X for ...", the sentence's
end), not a longer word ("LoRAX"), a compound ("FlashAttention-3") or a noun it modifies ("the MoE backbone")."""


_NOT_AN_OBJECT = "".join(rf"(?<!\b{p}\s)" for p in ("of", "to", "on", "for", "from", "with", "over", "than", "into",
                                                    "like", "via", "upon"))
"""Before the name: no preposition ("we propose a hierarchical version of BERT" introduces no BERT)."""


def proposes(abstract: str, name: str) -> bool:
    """Whether ``abstract`` says the paper introduces ``name``: the authors' introducing verb ("we propose", "we
    introduce", "this paper presents") with the name at most ``PROPOSE_REACH`` words after it, or "called X",
    "named X", and the name ends its noun phrase there (``_APPOSED``). "Our proposed method over RNN, CNN, GNN",
    "in terms of GLUE", "the recently introduced LoRA", "we introduce a router decoupled from the MoE
    backbone" and "we propose a hierarchical version of BERT" introduce none of those names."""
    low = re.escape(singular(name).lower())
    near = re.compile(rf"(?:{_AUTHORS_VERB}(?:\W+\S+){{0,{PROPOSE_REACH}}}?\W+|{_CALLED}\W*){_NOT_AN_OBJECT}{low}"
                      rf"{_APPOSED}", re.IGNORECASE)
    return any(near.search(s) for s in sentences_naming(abstract, singular(name).lower()))


def sentences_naming(abstract: str, low: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", abstract) if names_word(s, low)]  # not "LoRA-BAM" for LoRA


def names_its_paper(analysis: Question, retrieved: Retrieved, spelled: Mapping[str, Collection[str]] = NO_ACRONYMS
                    ) -> bool:
    """Whether a question asks only what a paper is, by the paper's own coined name, and the first hit is that
    paper: the name heads its title (as written, or spelled out by the corpus's acronym table, ``spelled``: "SAM"
    for "Sharpness-Aware Minimization") or its abstract proposes it ("What is SPLADE?", "LinearAG", "what paper
    proposes LinearAG?", "what does SAM stand for?"). Such a question is answered although the abstention model
    doubts it (it refused a reviewer's "SPLADE" and "what is splade" with the SPLADE paper first). Any other word
    ("SPLADE training time", "What is the release date of LinearAG?") leaves it to the model, and so does a name the
    title only ends with ("NER" of "... for Biomedical NER")."""
    if not retrieved.hits:
        return False
    top = retrieved.hits[0].paper.abstract
    term = defined_term(analysis.text)  # "What is the information filtering hypothesis?": a phrase it proposes
    names = coined_names(analysis.text, 3) or [  # "What is Loki?": a capitalised name the first abstract proposes
        n for n in named_entities(analysis.text) if proposes(top, n)] or [t for t in [term] if t and proposes(top, t)]
    if not names or any(DESCRIBING.search(n) for n in names):
        return False
    rest = {t for t in tokenize(analysis.text) if t not in STOPWORDS and t not in _ASKING_WHAT}
    if rest - {t for n in names for t in tokenize(n)}:
        return False
    return all(its_name(n, retrieved.hits[0].paper, spelled) for n in names)


def with_title_name(text: str, retrieved: Retrieved) -> str:
    """``text`` with the coined name the first hit's title opens with ("SELMA" of "SELMA: Learning and Merging ...")
    written as the title writes it when ``text`` has it in another case ("selma tifa dsg gains"): a lower-case word
    that is also an English word ("selma", "opera") is left as typed by the query's casing, but next to the paper
    that is named by it, it is that name."""
    if not retrieved.hits or ":" not in retrieved.hits[0].paper.title:
        return text
    head = retrieved.hits[0].paper.title.split(":", 1)[0].strip()
    if " " in head or not coined(head) or not a_paper_name(head):
        return text
    return re.sub(rf"(?<![\w-]){re.escape(head)}(?![\w-])", head, text, flags=re.IGNORECASE)


_FIELD_WORDS = frozenset({"llm", "llms", "mllm", "mllms", "lm", "lms", "gpt", "nlp", "ml", "ai", "cnn", "cnns",
                          "rnn", "rnns", "gnn", "gnns", "rl", "moe", "vlm", "vlms", "sota"})
"""Coined words that name a field or a kind of model, not a paper ("LLMs")."""


def a_paper_name(name: str) -> bool:
    """A coined name ("TIES-Merging", "OPERA", "TabPFN"), not a capitalised word of a longer name ("Beacon" of
    "Activation Beacon", "Neural" of a title) nor a field's acronym."""
    return coined(name) and name.lower() not in _FIELD_WORDS


MAX_NAMES = 12
"""The names of a question the name rules read: a question with more is a pasted list, no question about one
paper's details; a comparison reads its first ones (each is searched for beside every other: 550 pasted
acronyms had run 300,000 searches, minutes of one core)."""


def asks_of_its_paper(analysis: Question, retrieved: Retrieved,
                      spelled: Mapping[str, Collection[str]] = NO_ACRONYMS) -> bool:
    """Whether a question names the first hit by the paper's own coined name (``its_name``) and every other name it
    gives is in that abstract: "What datasets was DIN evaluated on?", "What gains did SELMA report on TIFA and
    DSG?". Such a question is plainly about that paper, so it is answered although the abstention model doubts it
    (it weighs the query's dense similarity, which a bare acronym lacks); a detail the abstract lacks is then said
    to be not stated. So it is only for a specific detail the abstract names (``SPECIFIC``: "datasets", "performance",
    which the "not stated" rules check), or when every other word of the question is in the abstract or asks about
    its content in general (``_ASKING_ABOUT``: "What problem does MaxSup address?"): "What dataset is SPLADE
    evaluated on?", "What neighborhood radius rho does SAM use?" and "SPLADE training time" stay the model's, as do
    "Does PolyCom beat SwiGLU?" (in no abstract) and a field's acronym ("LLM") that a title happens to open with."""
    if not retrieved.hits:
        return False
    top = retrieved.hits[0].paper
    names = coined_names(analysis.text, 3)
    if len(names) > MAX_NAMES:  # no question names one paper with this many others
        return False
    own = [n for n in names if a_paper_name(n) and its_name(n, top, spelled) and not DESCRIBING.search(n)]
    if not own or not all(n in own or names_word(top.abstract, n) for n in names):
        return False
    named = {t for n in names for t in tokenize(n)}
    rest = {t for t in tokenize(analysis.text) if t not in STOPWORDS and t not in QUESTION_WORDS and t not in named}
    text = set(tokenize(f"{top.title} {top.abstract}"))
    return (analysis.slot.kind in SPECIFIC and bool(set(analysis.slot.head) & text)) or rest - _ASKING_ABOUT <= text


_ASKING_ABOUT = frozenset(tokenize(
    "main key core central primary contribution contributions finding findings find found result results show shows "
    "shown demonstrate claim claims conclusion conclude problem problems issue address addresses solve tackle idea "
    "insight purpose goal aim motivation gain gains improve improvement performance perform achieve get got report "
    "evaluate evaluated evaluation experiment experiments study work paper approach method technique novel new use "
    "used help helps do does about summary summarize overview advantage advantages benefit benefits"
))
"""Words that ask about a paper's content in general ("what is the main finding of NevIR?", "what problem does
MaxSup address?"), not for a detail its abstract may lack ("the neighborhood radius rho", "mean pooling")."""
_ASKING_WHAT = frozenset(tokenize(
    "what which who is are does do stand stands for mean means define explain describe summarize summarise summary "
    "overview tell me about paper papers method model propose proposes proposed introduce introduces introduced "
    "the a an of exactly actually really basically briefly please"
))
"""The words of a question that asks only what something is or which paper it is ("what does DIN do exactly?")."""


def its_name(name: str, paper: Paper, spelled: Mapping[str, Collection[str]]) -> bool:
    """Whether ``name`` is the paper's own: a word of its title's head (before a colon, or its first four words),
    its long form in the title, or a name its abstract proposes."""
    title = paper.title.lower()
    head = title.split(":", 1)[0] if ":" in title else " ".join(title.split()[:4])
    return bool(re.search(rf"(?<![\w-]){re.escape(name.lower())}(?![\w-])", head)) or proposes(
        paper.abstract, name) or spelled_out(name, title, spelled)


def proposer(question: str, retrieved: Retrieved, depth: int = 3) -> int | None:
    """For "Which paper proposes Integrated Gradients?" (``asks_for_a_paper``): the first of the ``depth`` best hits
    whose own name it is (``owns``), when that is not the first hit; None when the first hit owns the name, no hit
    does, or the question asks no such thing. The paper that introduces a name answers the question, not one that
    only uses it ("generalizing the principle of integrated gradients")."""
    if not asks_for_a_paper(question):
        return None
    papers = [hit.paper for hit in retrieved.hits[:depth]]
    owner = next((h for h, p in enumerate(papers) if owns(question, p, [o for o in papers if o is not p])), None)
    return owner or None


_INTRODUCED = re.compile(r"\b(?:propos|introduc|present|invent|coin)\w*\s+(?:the\s+)?((?:[\w-]+\s+){0,4}[\w-]+)\s*\??$",
                         re.IGNORECASE)
"""What a question says a paper introduces: "Which paper proposes Integrated Gradients?" -> "Integrated Gradients"."""


def owns(question: str, paper: Paper, others: Sequence[Paper] = ()) -> bool:
    """Whether a name ``question`` gives is ``paper``'s own (``its_name``): a coined one ("TIES-Merging") or what it
    says a paper introduces ("... proposes Integrated Gradients?"). A name one of ``others`` names too is a shared
    term ("ReLU" of "Learning Prescriptive ReLU Networks" and of an abstract on ReLU networks): it is the paper's own
    only when its abstract proposes it or its title is named by it ("LoFiT: Localized Fine-Tuning ...", whatever
    "Unlike LoFiT, ..." elsewhere says)."""
    introduced = _INTRODUCED.search(question)
    names = [n for n in named_entities(question) if a_paper_name(n)] + ([introduced.group(1)] if introduced else [])
    return any(its_name(n, paper, NO_ACRONYMS) and (
        short_title(paper.title).lower() == n.lower() or proposes(paper.abstract, n)
        or not any(names_word(f"{o.title} {o.abstract}", n) for o in others)) for n in names)


def title_line(question: str, retrieved: Retrieved, existence: bool, h: int, sure_score: float) -> str:
    """The note that opens an answer naming hit ``h``: "Yes: <title>" for "Is there a paper on ...?"
    (``existence_sentence``), "Paper: <title>" for "Which paper ...?" (``which_paper_sentence``, with the list's
    ``sure_score``; sure too when the paper owns the name asked about), "" for other questions."""
    hit, asked = retrieved.hits[h], retrieved.query or question
    if existence:
        return existence_sentence(question, hit.paper.title, retrieved.confidence)
    if not asks_for_a_paper(asked):
        return ""
    return which_paper_sentence(hit.paper.title, retrieved.confidence, hit.score, sure_score, owns(asked, hit.paper))


def own_subject(question: str, retrieved: Retrieved) -> Subject | None:
    """The paper the question names (``subject``) when the question names it alone: each coined name it gives is
    in that paper's title or proposed by its abstract, or, with no coined name, its other words are the title's
    (``names_by_title``). "Who wrote the BERT paper?" is not asked of a paper that only compares with BERT, and
    "Who wrote TabPFN, and when was DIMAT published?" of neither."""
    subj = subject(question, retrieved)
    names = coined_names(question)
    if subj is None and not names and retrieved.hits:  # "the legal judgment prediction paper": two titles say so
        subj = Subject(0, short_title(retrieved.hits[0].paper.title))
    if subj is None:
        return None
    paper = retrieved.hits[subj.hit].paper
    if not names:  # "Who wrote the sparsemax paper?": its title's words
        return subj if names_by_title(question, paper.title) else None
    own = all(n.lower() in paper.title.lower() or proposes(paper.abstract, n) for n in names)  # one paper's names
    return subj if own else None
