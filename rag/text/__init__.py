"""Every text rule of the project, used alike by indexing, answering, the UI and the evals; one module per kind
of rule below, every name imported from ``rag.text``.

- **Sentences**: ``split_sentences`` gives the sentence spans of an abstract (stored sentence indexes and
  highlighted quotes depend on them); ``answer_sentences`` splits an answer with the same rules, each
  sentence keeping the citation markers that follow it.
- **Citation markers**: ``[n]``, ``[n, m]``, ``[n-m]``, ``[Source n]``, ``【n】``. Enumerations such as
  "(1)", "(2)" or "(i)" are text, never markers, and a bracket holding a 0 ("maps R to [0,1]") is not one
  either (sources are numbered from 1). Stripping a marker removes only the marker and the space before it.
- **Numbers** written with digits (``1,000`` -> ``1000``, ``42.5%`` -> ``42.5``), digits inside names
  (``QM9``, ``H100``) left out.
- **Normalisation**: for verbatim comparisons, for titles (ids, de-duplication), for queries.
- **Quotes with gaps**: ``"A … B"`` quotes A and B, in that order, from one source (``quote_parts``,
  ``parts_in_order``): the composer's sub-sentence quotes, checked alike by the citation checker and the evals.
- **Links**: ``find_urls`` (``http(s)://`` and ``www.`` addresses), for the papers' code links and the checker's
  rule that an answer links only to addresses its cited abstracts contain.
- **Words**: the BM25 tokeniser (stemmed, stopwords out) and the content words built on it.
- **Names**: acronyms and coined names, their plural, the question words, the "we" of an abstract.
"""

from __future__ import annotations

from rag.text.markers import (
    MARKER,
    WORD_JOINER,
    Marker,
    answer_sentences,
    defuse_markers,
    list_label,
    markers_in,
    parse_markers,
    short_title,
    strip_bullet,
    strip_markers,
)
from rag.text.names import (
    QUESTION_WORDS,
    compared_words,
    is_acronym,
    named_entities,
    names_word,
    query_names,
    says_we,
    singular,
)
from rag.text.normal import (
    URL_CHARS,
    drop_escapes,
    find_numbers,
    find_urls,
    has_digit,
    is_html,
    normalize_query,
    normalize_title,
    normalize_verbatim,
    numbers_in,
    printable,
    without_accents,
    without_urls,
)
from rag.text.sentences import (
    ABBREVIATIONS,
    GAP,
    MIN_PART_WORDS,
    parts_in_order,
    quote_parts,
    sentences,
    split_sentences,
)
from rag.text.words import (
    STOPWORDS,
    WORD,
    _tokens,
    content_words,
    counted,
    key_terms,
    tokenize,
    words,
)

__all__ = [
    "ABBREVIATIONS",
    "GAP",
    "MARKER",
    "MIN_PART_WORDS",
    "QUESTION_WORDS",
    "STOPWORDS",
    "URL_CHARS",
    "WORD",
    "WORD_JOINER",
    "Marker",
    "_tokens",
    "answer_sentences",
    "compared_words",
    "content_words",
    "counted",
    "defuse_markers",
    "drop_escapes",
    "find_numbers",
    "find_urls",
    "has_digit",
    "is_acronym",
    "is_html",
    "key_terms",
    "list_label",
    "markers_in",
    "named_entities",
    "names_word",
    "normalize_query",
    "normalize_title",
    "normalize_verbatim",
    "numbers_in",
    "parse_markers",
    "parts_in_order",
    "printable",
    "query_names",
    "quote_parts",
    "says_we",
    "sentences",
    "short_title",
    "singular",
    "split_sentences",
    "strip_bullet",
    "strip_markers",
    "tokenize",
    "without_accents",
    "without_urls",
    "words",
]
