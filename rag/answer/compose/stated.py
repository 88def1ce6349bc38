"""Whether an abstract states the detail a question asks for: its head noun (``unit_missing``), a number of an
asked value (``quantity_stated``), a named device for asked hardware, the names and the setting the question gives
(``mentioned``, ``unstated_setting``). ``rag.answer.compose.lead.missing_detail``
says "does not state" when it does not; ``rag.answer.compose.slots`` works out the slot first."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from rag.answer.compose.naming import DESCRIBING, NO_ACRONYMS, spelled_out, things_named
from rag.answer.compose.quantities import CHANGE_WORDS, has_number
from rag.answer.compose.slots import RATINGS, Slot, fills, head_noun
from rag.text import named_entities, sentences, singular, tokenize, without_accents, without_urls

_DEVICE = re.compile(r"(?<![A-Za-z0-9])(?:\d+\s*x\s*)?(?:[AHVLTP]\d{2,4}|A800|H800|RTX[ -]?\w+|TITAN(?: \w+)?|"
                     r"Jetson\w*|TPU ?v\d\w*|Apple M\d|Snapdragon \w+|Raspberry Pi|Xeon \w+|MI\d{3})\b")
"""A named device, which states asked hardware ("H100 GPU", "8xA800", "TITAN XP"); "edge devices", "GPU hours" or
"a GPU" do not say which."""
_KIND_OF_DEVICE = re.compile(r"\b(?:GPU|TPU|CPU|FPGA)s?\b(?!\s+hours?)")
"""A kind of device, which says what hardware ("when using a GPU"), not which GPU; "74 GPU hours" says neither."""
_DEVICE_NOUNS = frozenset(tokenize("gpu gpus tpu tpus cpu cpus chip chips accelerator accelerators"))


def _stated_device(noun: str, text: str) -> bool:
    """Whether ``text`` states the asked device: a named one ("H100", "8xA800", "TITAN XP"), or for "what hardware"
    a kind of device ("a GPU"); "which GPUs" needs the name."""
    return bool(_DEVICE.search(text) or (noun not in _DEVICE_NOUNS and _KIND_OF_DEVICE.search(text)))


_FORMULA = re.compile(r"\b[OΘΩo]\s*\(|\blog\s*\(?\s*[a-z]\b|\b[a-z]\s*[\^/]\s*[\w{(]")
"""A quantity written as a formula: "O(log n) samples", "n^2 pairs"."""


_VAGUE_COUNT = re.compile(r"\b(?:(?:small|large|limited) number of|handful of|few|several|many|dozens|hundreds|"
                          r"thousands|millions|single|one|once)\b", re.IGNORECASE)
"""A count stated in words: "only requires a small number of independent tasks", "a single forward pass"."""


_PEOPLE = re.compile(r"\b\d[\d,.]*\s+(?:[A-Za-z-]+\s+){0,3}?(?:people|participants|users|humans|persons|"
                     r"annotators|raters|workers|crowdworkers|researchers|volunteers|respondents|evaluators|"
                     r"individuals|subjects)\b", re.IGNORECASE)
"""A count of people by their role: "a user study with 18 machine learning researchers", "40 crowdworkers"; not
"users tend to ...", "the top 10 experts" of a mixture of experts, "2 students" of a distilled teacher."""
_PEOPLE_NOUNS = frozenset(tokenize("people participants users humans persons raters workers volunteers respondents "
                                   "individuals subjects"))
"""Asked head nouns (stemmed) that a count of people (``_PEOPLE``) states ("How many people took part ...?")."""
_CHANGE_BY = re.compile(r"\b(?:outperform\w*|improv\w*|surpass\w*|beat\w*|exceed\w*|boost\w*|better|higher|lower|"
                        r"reduc\w*|increas\w*|decreas\w*)\b[^.;]{0,80}?\bby\s+(?:up to |an average of |"
                        r"an average |about |around |roughly |nearly |over |more than |at least )?[\d.,]*\d\s*"
                        r"(?:%|x\b|×|points?|pp\b|percent|percentage points)|\d\s*(?:%|x|×)\s+(?:fewer|less|"
                        r"smaller|lower|higher|more|faster|better)\b", re.IGNORECASE)
"""The size of a change, set against another result: "outperforms the best competitor ... by an average 14%", "with
50% fewer activation parameters"; not "outperforms ... on four real-world datasets" nor "Over 3 datasets, it reaches
71%"."""
_SPEED_NOUNS = frozenset(tokenize("speedup speedups speed-up speed-ups"))


def _names_noun(noun: str, text: str) -> bool:
    """Whether ``text`` names the asked head noun (stemmed): the noun itself, a count of people by their role, or
    the size of a change ("margin", "drop"; not a speed-up, read by its measure) by how much a result beats another
    ("outperforms the best competitor by an average 14%")."""
    return (noun in set(tokenize(text)) or (noun in _PEOPLE_NOUNS and _PEOPLE.search(text) is not None)
            or (noun in CHANGE_WORDS and noun not in _SPEED_NOUNS and _CHANGE_BY.search(text) is not None))


def quantity_stated(slot: Slot, abstract: str) -> bool:
    """Whether some sentence of ``abstract`` gives a number (a formula, or a count in words: "a small number of
    tasks") of the asked quantity: with its head noun (``_names_noun``), or its initials ("45 RMs" for "reward
    models"); a share by its symbol ("5%", ``_stated_share``). True unless the question asks for a value
    (``Slot.count``) and names a unit, not a speed-up ("how fast": ``fills`` reads its measure)."""
    noun = head_noun(slot)
    if not noun or slot.measure or not slot.count:
        return True
    if noun in _SYMBOLS:  # "what fraction of heads": "less than 5% of the heads"
        return _stated_share(slot, _SYMBOLS[noun], abstract)
    words = re.findall(r"[A-Za-z]+", slot.detail)
    initials = "".join(w[0] for w in words).lower() if len(words) >= 2 else ""
    for sentence in sentences(abstract):
        named = _names_noun(noun, sentence) or (
            bool(initials) and re.search(rf"\b{initials}s?\b", sentence, re.IGNORECASE))
        if named and (has_number(sentence) or _FORMULA.search(sentence) or _VAGUE_COUNT.search(sentence)):
            return True
    return False


def unit_missing(slot: Slot, text: str) -> bool:
    """Whether the asked detail's head noun (``head_noun``) is nowhere in ``text`` (an abstract and its title):
    "GPU hours" with no "hour", "licence" with no licence. A word of the text with the same base (``_base``)
    counts as the noun (Snowball stems "reduction" and "reducing" apart). A detail made of generic words never
    counts, nor does asked hardware when the text names a device ("hardware" with "H100 GPU"; "which GPU" is missing
    without a named one, "when using a GPU" does not say which), nor the size of a change ("margin") when
    the text says by how much a result beats another (``_names_noun``), nor a speed-up when a sentence says how
    many times faster ("speeding up the LLM inference by up to 1.27x"; not "extend the context length by 100
    times") or by how much latency or throughput changes ("improving mean end-to-end latency up to 6.1%")."""
    noun = head_noun(slot)
    if not noun or (slot.kind == "hardware" and _stated_device(noun, text)):  # "hardware" is stated as "H100 GPU"
        return False
    if slot.kind == "hardware" and noun in _DEVICE_NOUNS:  # "which GPU" is not stated by "when using a GPU"
        return True
    if slot.measure == "speed" and any((_SPED_UP.search(s) and _RATIO.search(s)) or (
            _LATENCY.search(s) and (_RATIO.search(s) or _PERCENT.search(s))) for s in sentences(text)):
        return False  # "speedup" stated as "speeding up the LLM inference by up to 1.27x", "latency up to 6.1%"
    if _names_noun(noun, text) or (noun in _SYMBOLS and _stated_share(slot, _SYMBOLS[noun], text)):
        return False
    detail, text = f"{slot.detail} {_UNHYPHENATED.sub('', slot.detail)}", f"{text} {_UNHYPHENATED.sub('', text)}"
    asked = {_base(w) for w in re.findall(r"[A-Za-z]+", detail) if noun in tokenize(w) or _base(noun) in _base(w)}
    return not asked & {_base(w) for w in re.findall(r"[A-Za-z]+", text)}  # "speed-up" is stated as "speedups"


def _stated_share(slot: Slot, symbol: re.Pattern[str], text: str) -> bool:
    """Whether a sentence of ``text`` states a share (``symbol``: "5%", "a third") of what the question asks it of
    (``Slot.of``): "less than 5% of the attention heads" for "what fraction of attention heads ...", not "up to
    2.94% in average performance" for "what fraction of weights ..."."""
    about = set(slot.of)
    return any(symbol.search(s) and (not about or about & set(tokenize(s))) for s in sentences(text))


_SPED_UP = re.compile(r"\b(?:speed\w*|faster|accelerat\w*)", re.IGNORECASE)
_LATENCY = re.compile(r"\b(?:latency|latencies|throughput|inference time|wall-clock time)\b", re.IGNORECASE)
_RATIO = re.compile(r"\d(?:\.\d+)?\s*(?:x|×|times)(?![a-z])", re.IGNORECASE)
_PERCENT = re.compile(r"%|\bpercent|\bpp\b")
_FRACTION = re.compile(r"%|\bpercent|\b(?:half|third|thirds|quarter|quarters|tenth)\b|\b\d+\s*/\s*\d+\b|"
                       r"(?<![\d.])0?\.\d+\b")  # "0.3", ".3"; not the ".33" of "10.33 times"
_SYMBOLS = {"percentag": _PERCENT, "percent": _PERCENT, "fraction": _FRACTION, "proport": _FRACTION}
"""Head nouns a symbol or a number word states: "5%" is a percentage, "less than 5%" and "a third" fractions."""
_UNHYPHENATED = re.compile(r"(?<=[A-Za-z])-(?=[A-Za-z])")


_SUFFIXES = ("ations", "ation", "tions", "tion", "ions", "ion", "ings", "ing", "ments", "ment", "ies", "es", "ed", "s",
             "e", "y")  # fmt: skip


def _base(word: str) -> str:
    """``word`` lower-cased, British spellings as American ("licence", "colour", "optimise"), without one inflection
    or ``-tion``/``-ment`` ending, keeping four letters: "reduction" and "reducing" are "reduc"; "memory" is
    "memor" but "memorization" is "memoriz"."""
    low = re.sub(r"is(e|ed|es|ing|ation|ations)$", r"iz\1", re.sub(r"our$", "or", re.sub(r"nce$", "nse", word.lower())))
    return next((low[: -len(s)] for s in _SUFFIXES if low.endswith(s) and len(low) - len(s) >= 4), low)


def duration_stated(slot: Slot, abstract: str) -> bool:
    """Whether a "how long does it take" question (``Slot.measure`` "time") finds a sentence of ``abstract`` with a
    number of time units ("3 days", "10K steps"); True for any other question. "How long did it take to train
    CodeGen2 16B?" was answered with its model sizes."""
    return slot.measure != "time" or any(fills(slot, s) for s in sentences(abstract))


_NAMED_CLASSES = frozenset(tokenize("dataset datasets benchmark benchmarks corpus corpora llm llms backbone backbones"))
"""Asked nouns whose fillers are proper names: "which datasets", "which LLM", "which backbone" want "GLUE",
"LLaMA-2", "ResNet-50", not "four real-world datasets". Not "which models" ("small transformers", "CNNs" are
answers) nor "which tasks" (answered in plain words)."""
_CLASS_WORDS = frozenset(tokenize("large language model models"))
"""Words of a class spelled out ("a Large Language Model (LLM)"): capitalised, but no name."""
_MODEL_CLASSES = frozenset(tokenize("llm llms"))
"""Asked nouns whose fillers must look like a model's name (``_MODEL_NAME``, ``_asks_for_a_model``): "LoRA" or "MMLU"
name no LLM."""
_BACKBONE = frozenset(tokenize("backbone backbones"))
_MODEL_NAME = re.compile(
    r"(?:^|-)\d+(?:\.\d+)?[BM]$|(?:gpt|llama|bloom|mistral|mixtral|gemma|claude|qwen|falcon|vicuna|alpaca|chinchilla|"
    r"gopher|llava|pythia|olmo|codegen|starcoder|gemini|baichuan|internlm|deepseek|glm|zephyr|wizardlm|palm)|"
    r"^(?:OPT|T5|Flan|BERT|RoBERTa|DeBERTa|BART|MPT|Codex|Mamba)(?![a-z])|^(?:Phi|Yi)-\d|(?:^|-)o\d\b",
    re.IGNORECASE)
"""A model's name: a size ending it ("7B", "BLOOM-176B"; not "Clothing1M"), a model family's name in it ("Llama-3",
"InstructGPT", "TinyLlama", "OLMoE"), or one leading it ("OPT-6.7b", "RoBERTa"; not "BERTScore"), "Phi-3", "o1"."""


def _asks_for_a_model(slot: Slot) -> bool:
    """Whether the asked detail is an LLM: it ends on "LLM(s)" or "language model(s)", or on "backbone" after "LLM";
    "Which methods involve LLM inference?" asks for methods."""
    head = slot.head
    return bool(head) and (head[-1] in _MODEL_CLASSES or (head[-1] in _BACKBONE and bool(_MODEL_CLASSES & set(head)))
                           or re.search(r"\blanguage models?$", slot.detail, re.IGNORECASE) is not None)


_PROPOSED = re.compile(r"\b(?:propose[sd]?|introduce[sd]?|present(?:s|ed)?|develop(?:s|ed)?|design(?:s|ed)?|"
                       r"call(?:s|ed)?|name[sd]?|release[sd]?|build|built|create[sd]?|curate[sd]?|collect(?:s|ed)?)\b",
                       re.IGNORECASE)
"""A question about what the paper itself makes ("Which dataset does Corr2Cause introduce?"): its own name answers."""


def names_stated(slot: Slot, title: str, abstract: str, asked: str, own: str = "") -> bool:
    """Whether a paper names something a "which datasets / LLMs / backbones" question could be asking for: a name
    (``named_entities``; in the title, only a coined one such as "GPT-4", not its capitalised words; links left
    out; for an LLM, a model's name: ``_MODEL_NAME``) that ``asked`` (the question and its subject's name) does
    not already give, that is no variant of the subject's name ``own`` ("LISTEN-U" of LISTEN), not the asked class
    itself ("LLMs", "Large Language Model") and not an acronym of the question's words ("CTR" for "click-through
    rate"). True for any other slot, and for a question about what the paper itself proposes or builds (its own
    name answers it). "Experimental results on four real-world datasets" names none."""
    model = _asks_for_a_model(slot)
    if slot.kind not in ("dataset", "name") or not (_NAMED_CLASSES & set(slot.head) or model) or _PROPOSED.search(
            asked):
        return True
    low = asked.lower()
    initials = _initials(low)
    titled = [n for n in named_entities(title) if re.search(r"\d|[a-z][A-Z]", n)]
    for name in titled + [n for s in sentences(without_urls(abstract)) for n in named_entities(s)]:
        bare = name.lower()
        if set(tokenize(name)) <= _NAMED_CLASSES | _CLASS_WORDS | set(slot.head) or re.search(
                rf"(?<![\w-]){re.escape(bare)}(?![\w-])", low) or _variant(bare, own.lower()):
            continue
        if model and not _MODEL_NAME.search(name):
            continue
        if not (name.isupper() and len(name) >= 3 and bare.removesuffix("s") in initials):
            return True
    return False


def _variant(name: str, own: str) -> bool:
    """Whether ``name`` (lower case) is a variant of the paper's own name ``own``: "listen-u" of "listen to your
    preferences" (its part before a hyphen is the first word of ``own``)."""
    head = name.split("-")[0]
    return "-" in name and len(head) >= 3 and own.split()[:1] == [head]


def _initials(text: str) -> str:
    """The first letters of ``text``'s words, hyphenated parts apart ("click-through rate" -> "ctr")."""
    return "".join(w[0] for w in re.findall(r"[a-z0-9]+", text))


def own_names(slot: Slot) -> list[str]:
    """The coined names the question itself gives (``Slot.entities``; ``things_named``: "XGBoost-style" names
    XGBoost), three letters or more; not "SOTA", which rates a result and names nothing."""
    return [n for n in things_named(slot.entities, 3) if n.lower() not in RATINGS]


_SETTING = re.compile(r"\b(?:on|in|for|across|over|with)\s+(?:the\s+)?(?P<setting>[^,;?]+?)"
                      r"(?=\s+(?:and|or|but|how|what|which|why|when|while|compared|versus|vs)\b|[,;?]|\s*$)",
                      re.IGNORECASE)


def unstated_setting(slot: Slot, question: str, subject: str, own: str,
                     spelled: Mapping[str, Collection[str]] = NO_ACRONYMS) -> str:
    """For a quantity asked in a setting the question names ("What BLEU score does MAE reach on WMT14 English to
    French?"): "on WMT14 English to French" when a name in that setting (a capitalised word or a coined one) is
    nowhere in the subject's own title and abstract ``own`` (lower case; as written, without hyphens or spelled
    out: ``mentioned``), though other retrieved abstracts may name it; "" otherwise. The setting ends at a
    conjunction or a second question ("... to French and how does it compare ...")."""
    if slot.kind != "quantity":
        return ""
    skip = f"{subject} {slot.detail}".lower()
    for match in _SETTING.finditer(question):
        setting = match.group("setting").strip()
        names = [DESCRIBING.sub("", n) for n in slot.entities if n in setting and n.lower() not in skip]
        if any(n and not mentioned(n, own, spelled) for n in names):
            return f"{match.group(0).split()[0].lower()} {setting}"
    return ""


def mentioned(name: str, text: str, spelled: Mapping[str, Collection[str]]) -> bool:
    """Whether a coined name is in ``text`` (lower case): as written (``named_in``), without its hyphens ("GPT4"
    for "GPT-4"), or spelled out as the corpus defines it (``spelled``: the mined acronym table, "MoE" ->
    "mixture of experts", so "mixture-of-experts layers" mention MoE)."""
    return (named_in(name, text) or named_in(name.replace("-", ""), text.replace("-", ""))
            or spelled_out(name, text, spelled))


def named_in(name: str, text: str) -> bool:
    """Whether a coined name (a dataset, a benchmark) is in ``text`` (lower case): one of its words of three or
    more characters that is not a number is, accents aside ("Frechet" is in "Fr\\'echet")."""
    parts = [p for p in re.split(r"[^a-z0-9]+", without_accents(singular(name)).lower())
             if len(p) >= 3 and not p.isdigit()]
    plain = without_accents(text)
    return not parts or any(re.search(rf"\b{re.escape(p)}", plain) for p in parts)
