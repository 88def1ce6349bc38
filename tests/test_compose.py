"""The query-focused composer on small hand-made papers: question analysis, comparison shape, follow-ups,
boilerplate left out, every quote verbatim from the abstract it cites."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from rag.answer.compose.analysis import analyse
from rag.answer.compose.followup import referents, resolve_followup, stands_alone
from rag.answer.compose.pieces import MODEL_PATH
from rag.answer.compose.selection import is_background, is_boilerplate, is_outlook
from rag.answer.compose.spans import join_kept, pieces, trim
from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.notes import WEAKER_MATCHES
from rag.errors import ConfigError
from rag.settings import Settings
from rag.text import (
    GAP,
    answer_sentences,
    markers_in,
    named_entities,
    parts_in_order,
    quote_parts,
    short_title,
    strip_markers,
    tokenize,
)
from rag.types import Answer, Hit, Paper, Retrieved
from tests.conftest import HashEmbedder, make_paper
from tests.test_answer import answer

OPERA = make_paper(
    "OPERA: Alleviating Hallucination in Multi-Modal Large Language Models",
    "Recent advances in multimodal large language models have been remarkable. OPERA is a decoding method "
    "that adds an over-trust penalty on the beam search scores. OPERA needs no additional data or training. "
    "Code is available at https://github.com/x/OPERA.",
)
VCD = make_paper(
    "VCD: Visual Contrastive Decoding for Multimodal Hallucination",
    "We introduce VCD, which contrasts output distributions from original and distorted visual inputs. "
    "VCD reduces hallucination on POPE by 7 points.",
)
MAXSUP = make_paper(
    "MaxSup: Overcoming Representation Collapse in Label Smoothing",
    "MaxSup penalizes the top-1 logit instead of the ground-truth logit. It fixes the error amplification of "
    "label smoothing. MaxSup improves ImageNet accuracy.",
)
ACTIVE = make_paper(
    "Active Learning with Uncertainty Sampling",
    "We study active learning with uncertainty sampling for text classification. Labels are queried where "
    "the model is least sure.",
)
PAPERS = [OPERA, VCD, MAXSUP, ACTIVE]


def verbatim(final: Answer, papers: Sequence[Paper] = PAPERS) -> None:
    """Every answer sentence's quote (label and markers off) is in the abstract its marker cites: whole, or
    its parts joined with "…" each in that abstract, in order, exactly as written."""
    for line in final.text.splitlines():
        if line == WEAKER_MATCHES:  # a note on the list, quoting nothing
            continue
        cited_papers = [final.citations[n - 1].paper for n in markers_in(line)]
        body = line
        for paper in cited_papers:
            body = body.removeprefix(f"- {paper.title}: ").removeprefix(f"- {short_title(paper.title)}: ")
        for sentence in answer_sentences(body):
            mine = [final.citations[n - 1].paper.abstract for n in markers_in(sentence)]
            parts = quote_parts(strip_markers(sentence))
            assert mine and any(parts_in_order(parts, abstract) for abstract in mine), sentence


def test_question_kinds_and_entities() -> None:
    assert analyse("How do OPERA and VCD differ in reducing hallucination?").kind == "comparison"
    assert analyse("Which papers study label smoothing?").kind == "list"
    assert analyse("How much does VCD improve POPE?").kind == "quantity"
    assert analyse("What is MaxSup?").kind == "definition"
    assert analyse("Why does label smoothing hurt?").kind == "why"
    assert named_entities("What speedup does SeerAttention-R reach over FlashAttention-3 on QM9?") == [
        "SeerAttention-R", "FlashAttention-3", "QM9",
    ]


def test_comparison_names_both_methods_one_line_each_with_its_citation() -> None:
    _, final, _ = answer("How do OPERA and VCD differ in reducing hallucination?", PAPERS)
    lines = final.text.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("- OPERA: ") and lines[1].startswith("- VCD: ")  # the titles' short names
    titles = {c.marker: c.paper.title for c in final.citations}
    assert titles[markers_in(lines[0])[0]] == OPERA.title
    assert titles[markers_in(lines[1])[0]] == VCD.title
    verbatim(final)


def test_boilerplate_and_background_are_left_out() -> None:
    assert is_boilerplate("Code is available at https://github.com/x/OPERA.")
    assert is_background("Recent advances in multimodal large language models have been remarkable.")
    assert not is_boilerplate("OPERA needs no additional data or training.")
    _, final, _ = answer("What does the OPERA decoding method add to beam search?", PAPERS)
    assert "over-trust penalty" in final.text
    assert "github" not in final.text and "Recent advances" not in final.text
    verbatim(final)


EARLY_DROPOUT = make_paper(
    "Dropout Reduces Underfitting",
    "Dropout is a regularizer against overfitting. We propose early dropout: dropout is applied only during the "
    "initial phases of training, and turned off afterwards. Models equipped with early dropout reach a lower "
    "final training loss. Our results encourage more research on understanding regularization in deep learning "
    "and our methods can be useful tools for future neural network training with early dropout, especially in "
    "the era of large data.",
)


def test_outlook_sentences_are_left_out() -> None:
    assert is_outlook("We hope that our study acts as a guiding resource for considerations in utilizing ICL for MT.")
    assert is_outlook("It also provides a new lens through which to study and improve modern training practices.")
    assert is_background("Our work paves the way for future AI systems to make decisions.")
    # a trailing outlook clause after a result, or a number, keeps the sentence
    assert not is_outlook("Through extensive evaluations, we demonstrate that our approach significantly improves "
                          "subject consistency and overall video coherence, paving the way for advanced uses.")
    assert not is_outlook("We hope to show a 12% gain on future research benchmarks.")
    assert not is_outlook("We believe this is the first work to study label noise.")  # a claim, not an outlook
    assert not is_outlook("Future workloads are memory-bound.")
    _, final, _ = answer("What is early dropout and why does it help?", [EARLY_DROPOUT, *PAPERS])
    assert "initial phases of training" in final.text
    assert "encourage more research" not in final.text
    verbatim(final)
    _, asked, _ = answer("What future research does the early dropout paper encourage?", [EARLY_DROPOUT, *PAPERS])
    assert "encourage more research" in asked.text  # asked for, it is quoted


def test_followup_which_of_them_resolves_to_the_cited_papers() -> None:
    history = [
        {"role": "user", "content": "How do OPERA and VCD differ in reducing hallucination?"},
        {"role": "assistant", "content": f"- {OPERA.title}: OPERA is a decoding method that adds an over-trust penalty "
         f"on the beam search scores. [1]\n- {VCD.title}: We introduce VCD, which contrasts output distributions. [2]"},
    ]
    question = "Which of them needs no training?"
    assert not stands_alone(question)
    standalone = resolve_followup(question, history)
    assert "OPERA" in standalone and "VCD" in standalone and standalone.endswith(question)
    _, final, _ = answer(question, PAPERS, history=history)
    assert "OPERA needs no additional data or training." in final.text
    assert final.citations[0].paper.title == OPERA.title
    verbatim(final)


@pytest.mark.parametrize(
    "question",
    [
        "What does MaxSup penalize instead of the ground-truth logit, and what does it fix?",
        "Switching topics: which paper learns feature crosses with self-attention?",
        "Unrelated: is there a dataset for relations between objects?",
        "Never mind that. Does label smoothing make it harder to distil a teacher into a student?",
        "Forget it, which paper shows that beam search's MAP objective causes empty translations?",
        "Moving on: is there a benchmark for tool use where it matters which API is called first?",
        "Also, is there a paper on folding proteins with diffusion models?",
    ],
)
def test_a_standalone_question_after_a_chat_is_not_rewritten(question: str) -> None:
    history = [
        {"role": "user", "content": "How does uncertainty sampling pick labels in active learning?"},
        {"role": "assistant", "content": "Labels are queried where the model is least sure. [1]"},
    ]
    standalone = resolve_followup(question, history)
    assert question.endswith(standalone) and len(standalone.split()) >= len(question.split()) - 3, standalone
    # nothing carried from the chat; a topic-switch opener ("Switching topics:") is dropped


def test_maxsup_question_after_active_learning_is_answered_from_maxsup() -> None:
    history = [
        {"role": "user", "content": "How does uncertainty sampling pick labels in active learning?"},
        {"role": "assistant", "content": "Labels are queried where the model is least sure. [1]"},
    ]
    _, final, _ = answer("What does MaxSup penalize, and what does it fix?", PAPERS, history=history)
    assert final.citations[0].paper.title == MAXSUP.title
    assert "penalizes the top-1 logit" in final.text and "error amplification" in final.text
    assert all(c.paper.title != ACTIVE.title for c in final.citations)
    verbatim(final)


def test_comparison_says_which_named_method_the_corpus_lacks() -> None:
    _, final, _ = answer("How do OPERA, VCD and WarpNet differ in reducing hallucination?", PAPERS)
    assert final.text.splitlines()[-1] == "No retrieved paper is about WarpNet."


LONG = (
    "We propose MaxSup, which penalizes the top-1 logit instead of the ground-truth logit (the error-enhancement "
    "term of label smoothing), while keeping the regularization benefit of label smoothing; experiments on "
    "ImageNet show gains of 1.2 points."
)


def test_a_long_sentence_is_cut_at_clauses_and_every_part_is_verbatim_in_order() -> None:
    spans = pieces(LONG)
    assert "".join(LONG[a:b] for a, b in spans) == LONG  # the pieces cover the sentence end to end
    weights = {t: 1.0 for t in tokenize("What does MaxSup penalize instead of the ground-truth logit?")}
    quote = trim(LONG, weights, wants_number=False)
    assert quote.startswith("We propose MaxSup, which penalizes the top-1 logit") and "experiments on" not in quote
    quantity = trim(LONG, {t: 1.0 for t in tokenize("How much does MaxSup gain on ImageNet?")}, wants_number=True)
    assert GAP in quantity and quantity.endswith("experiments on ImageNet show gains of 1.2 points.")
    assert "while keeping" not in quantity
    parts = quote_parts(quantity)
    assert len(parts) == 2 and parts_in_order(parts, LONG)
    assert trim("A short sentence stays whole.", weights, wants_number=False) == "A short sentence stays whole."


def test_a_few_words_between_two_kept_parts_are_quoted_not_cut() -> None:
    """Cutting a short middle saved a few words and lost the fact: "(2) sparse … of the attention heads are
    retrieval" left out "only a small portion (less than 5%)"; a long middle is still cut."""
    sentence = ("All the explored models have a set of retrieval heads; (2) sparse: only a small portion (less than "
                "5%) of the attention heads are retrieval.")
    spans = pieces(sentence)
    middle = next(i for i, (a, b) in enumerate(spans) if "less than 5%" in sentence[a:b])
    keep = [i != middle for i in range(len(spans))]
    assert join_kept(sentence, spans, keep) == sentence
    long_middle = ("We propose MaxSup for image classifiers; it penalizes the top-1 logit instead of the ground-truth "
                   "logit of every training example in each batch of the run, and it keeps the benefit of smoothing.")
    spans = pieces(long_middle)
    keep = [True, *([False] * (len(spans) - 2)), True]
    assert len(spans) >= 3 and GAP in join_kept(long_middle, spans, keep)


def test_prose_answer_quotes_below_the_sentence_and_passes_the_checker() -> None:
    paper = make_paper("MaxSup: Overcoming Representation Collapse in Label Smoothing",
                       f"Label smoothing is popular. {LONG} Code is available at https://github.com/x/maxsup.")
    _, final, _ = answer("How much does MaxSup gain on ImageNet?", [paper, ACTIVE])
    assert "1.2 points" in final.text and "github" not in final.text
    assert all(c.verdict == "supported" and c.reason.startswith("verbatim quote") for c in final.checks)
    verbatim(final, [paper, ACTIVE])


def test_a_list_names_only_papers_whose_evidence_matches() -> None:
    embedder = HashEmbedder()
    scored = [(OPERA, 0.95), (VCD, 0.9), (ACTIVE, 0.05)]  # below even a weaker match's score
    hits = tuple(Hit(p, s, p.abstract.split(". ")[0], 0, s) for p, s in scored)
    retrieved = Retrieved("Which papers reduce hallucination in multimodal models?", hits, 0.9, False)
    items = list(ExtractiveAnswerer(Settings(), embedder).stream(retrieved.query, retrieved, []))
    final = items[-1]
    assert isinstance(final, Answer)
    assert [c.paper.title for c in final.citations] == [OPERA.title, VCD.title]  # the off-topic paper is left out
    assert final.text.startswith(f"- {OPERA.title}: ")


def test_a_list_puts_weaker_matches_under_the_sure_ones_with_one_quote() -> None:
    woodpecker = make_paper(
        "Woodpecker: Hallucination Correction for Multimodal Large Language Models",
        "Woodpecker corrects hallucination in multimodal models after generation. It reduces hallucination on "
        "POPE without retraining. It extracts key concepts and checks them against the image.",
    )
    coloring = make_paper("Greedy Graph Coloring", "We study greedy coloring of sparse graphs. Colors are assigned "
                          "vertex by vertex.")
    scored = [(OPERA, 0.95), (VCD, 0.9), (woodpecker, 0.2), (coloring, 0.3), (ACTIVE, 0.05)]
    hits = tuple(Hit(p, s, p.abstract.split(". ")[0], 0, s) for p, s in scored)
    retrieved = Retrieved("Which papers reduce hallucination in multimodal models?", hits, 0.9, False)
    final = list(ExtractiveAnswerer(Settings(), HashEmbedder()).stream(retrieved.query, retrieved, []))[-1]
    assert isinstance(final, Answer)
    assert [c.paper.title for c in final.citations] == [OPERA.title, VCD.title, woodpecker.title]
    sure, weaker = final.text.split(f"\n{WEAKER_MATCHES}\n")
    assert sure.startswith(f"- {OPERA.title}: ") and f"\n- {VCD.title}: " in sure
    assert weaker.startswith(f"- {woodpecker.title}: ") and weaker.count("[3]") == 1  # one quote
    assert "Active Learning" not in final.text  # below a weaker match's score
    assert "Coloring" not in final.text  # a weaker match's score, but none of the question's terms
    verbatim(final, [OPERA, VCD, woodpecker])


def test_them_after_a_list_is_its_sure_matches_and_an_ordinal_counts_every_line() -> None:
    history = [
        {"role": "user", "content": "Which papers reduce hallucination?"},
        {"role": "assistant", "content": f"- {OPERA.title}: OPERA needs no additional data or training. [1]\n"
         f"- {VCD.title}: VCD reduces hallucination on POPE by 7 points. [2]\n{WEAKER_MATCHES}\n"
         f"- {ACTIVE.title}: Labels are queried where the model is least sure. [3]"},
    ]
    assert [c.marker for c in referents("Which of them needs no training?", history)] == [1, 2]
    assert [c.marker for c in referents("how do they differ?", history)] == [1, 2]
    assert [c.marker for c in referents("what does the third one do?", history)] == [3]


def test_referents_are_the_sources_the_last_answer_cited() -> None:
    history = [
        {"role": "user", "content": "Which papers reduce hallucination?"},
        {"role": "assistant", "content": f"- {OPERA.title}: OPERA needs no additional data or training. [1]\n"
         f"- {VCD.title}: VCD reduces hallucination on POPE by 7 points. [2]"},
    ]
    assert [c.marker for c in referents("Which of them needs no training?", history)] == [1, 2]
    (second,) = referents("What does the second one reduce?", history)
    assert second.marker == 2 and "POPE" in second.texts[0]
    assert [c.marker for c in referents("How does it decode?", history)] == [1]
    assert referents("What does MaxSup penalize instead of the ground-truth logit?", history) == []
    for pointer in ("and the 2nd?", "Tell me more about [2]", "what does source 2 reduce?", "paper #2?",
                    "What did paper 2 find?", "What does the 2nd paper propose?"):
        assert [c.marker for c in referents(pointer, history)] == [2], pointer
    assert referents("And the fifth one?", history) == [] and referents("the 12th?", history) == []  # only 2 cited
    for own in ("What is the 1st step of RLHF in InstructGPT?", "Is Llama 2 paper 7 times faster than GPT-3?"):
        assert referents(own, history) == [] and stands_alone(own), own  # a number that points at no source
    standalone = resolve_followup("What does the second one reduce?", history)
    assert "POPE" in standalone and "OPERA" not in standalone
    _, final, _ = answer("What does the second one reduce?", PAPERS, history=history)
    assert [c.paper.title for c in final.citations] == [VCD.title]


def test_one_sentence_citing_two_sources_gives_each_its_own_clause() -> None:
    history = [
        {"role": "user", "content": "How can hallucination be reduced without retraining?"},
        {"role": "assistant", "content": "OPERA penalises over-trust in a few summary tokens while decoding [1]; "
         "VCD contrasts outputs from original and distorted images [2]. Both need no training [1, 2]."},
    ]
    first, second = referents("Which of them needs no training?", history)
    both = "Both need no training."
    assert first.texts == ("OPERA penalises over-trust in a few summary tokens while decoding", both)
    assert second.texts == ("VCD contrasts outputs from original and distorted images.", both)
    (only,) = referents("And the second one, what does it contrast?", history)
    assert only.marker == 2
    standalone = resolve_followup("And the second one, what does it contrast?", history)
    assert "distorted" in standalone and "OPERA" not in standalone
    short = [{"role": "user", "content": "q"},
             {"role": "assistant", "content": "A [1] and B [2] both decode greedily."}]
    assert [c.texts for c in referents("Which of them is faster?", short)] == [("A and B both decode greedily.",)] * 2


@pytest.mark.slow
def test_two_turn_conversation_on_the_bundled_corpus(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The issue's case: a list answer, then "Which of them needs no training?" led by the paper of that list
    that says so (OPERA: "without additional data, knowledge, or training"), the others after it; "the second
    one" is the second cited paper; a question naming its own subject is not rewritten."""
    first_q = "Which papers mitigate hallucinations of multimodal large language models?"
    first = real_pipeline.ask(first_q, answerer="extractive")
    cited = [c.paper.title for c in first.citations]
    assert any(t.startswith("OPERA") for t in cited) and len(cited) >= 2
    history = [{"role": "user", "content": first_q}, {"role": "assistant", "content": first.text}]
    which = real_pipeline.ask("Which of them needs no training?", history, answerer="extractive")
    assert which.citations[0].paper.title == next(t for t in cited if t.startswith("OPERA"))  # the match leads
    assert "without additional data, knowledge, or training" in which.text.splitlines()[0]
    assert {c.paper.title for c in which.citations} <= set(cited)  # then a line for each other cited paper
    second = real_pipeline.ask("What does the second one propose?", history, answerer="extractive")
    assert [c.paper.title for c in second.citations] == [cited[1]]
    own = "What loss does MaxSup use instead of label smoothing?"
    alone = real_pipeline.ask(own, history, answerer="extractive")
    assert alone.standalone_question == own
    assert alone.citations[0].paper.title.startswith("MaxSup")
    for final in (first, which, second, alone):
        verbatim(final)


def test_answer_words_and_evidence_bound_a_prose_answer_and_keep_it_verbatim() -> None:
    """``RAG_ANSWER_WORDS`` caps a prose answer and ``RAG_ANSWER_EVIDENCE`` sets how likely a further quote must
    be to hold a key fact: a small cap or a high bar gives a shorter answer, still verbatim and led by the same
    best quote (the only one a bar of 0.99 keeps); the shipped piece model's threshold was fitted with a cap at
    least as long as the default (the answer-first budget, 80 words, was chosen on dev_fit)."""
    from rag.answer.compose.pieces import PieceModel

    assert json.loads(MODEL_PATH.read_text())["fitted"]["cap"] >= Settings().answer_words == 80
    assert 0.0 < PieceModel.load().min_probability < 1.0
    paper = make_paper(
        "MaxSup: Overcoming Representation Collapse in Label Smoothing",
        "MaxSup penalizes the top-1 logit instead of the ground-truth logit. MaxSup restores intra-class "
        "variation in the features of label-smoothed networks. MaxSup sharpens inter-class boundaries of the "
        "learned representation. MaxSup improves ImageNet top-1 accuracy of ResNet-50 by 1.2 points over label "
        "smoothing. MaxSup is a drop-in replacement for label smoothing in transfer learning.",
    )
    embedder = HashEmbedder()
    hits = (Hit(paper, 0.9, paper.abstract.split(". ")[0], 0, 0.9), Hit(ACTIVE, 0.3, "", 0, 0.3))
    retrieved = Retrieved("What does MaxSup do to label-smoothed features?", hits, 0.9, False)

    def words_of(settings: Settings) -> tuple[int, Answer]:
        final = list(ExtractiveAnswerer(settings, embedder).stream(retrieved.query, retrieved, []))[-1]
        assert isinstance(final, Answer) and not final.abstained
        verbatim(final, [paper, ACTIVE])
        return len(strip_markers(final.text).split()), final

    long_words, long_answer = words_of(Settings(answer_evidence=0.0))
    short_words, short_answer = words_of(Settings(answer_evidence=0.0, answer_words=20))
    bar_words, bar_answer = words_of(Settings(answer_evidence=0.99))
    assert short_words <= 20 < long_words and bar_words < long_words
    (lead,) = [strip_markers(s).strip() for s in answer_sentences(bar_answer.text)]  # the anchor quote alone
    assert lead in strip_markers(short_answer.text) and lead in strip_markers(long_answer.text)
    with pytest.raises(ConfigError, match="answer_words"):
        Settings(answer_words=5)
    with pytest.raises(ConfigError, match="answer_evidence"):
        Settings(answer_evidence=1.5)


@pytest.mark.parametrize(
    "question",
    ["And when is fitting the training data almost perfectly required?",
     "What about the number of samples needed for the ridge penalty to matter?",
     "Also, does the test risk keep falling with more features?"],
)
def test_a_question_that_carries_on_is_resolved_from_the_last_turn(question: str) -> None:
    history = [
        {"role": "user", "content": "What does the random feature regression paper say about overparameterization?"},
        {"role": "assistant", "content": "Its test risk decreases with the number of features. [1]"},
    ]
    assert not stands_alone(question)
    standalone = resolve_followup(question, history)
    assert standalone.endswith(question) and "regression" in standalone and "overparameterization" in standalone


def test_a_correction_keeps_the_topic_but_not_the_wrong_papers_names() -> None:
    history = [
        {"role": "user", "content": "What does the paper on dropout for fine-tuning pretrained models propose?"},
        {"role": "assistant", "content": "Mixout stochastically mixes the parameters of two models; it stabilises "
                                         "fine-tuning BERT on GLUE."},
    ]
    question = "No, I meant the one that fine-tunes with very high dropout rates — what do they find?"
    standalone = resolve_followup(question, history)
    assert standalone.endswith(question) and "pretrained" in standalone.split(question)[0]
    assert not {"Mixout", "BERT", "GLUE"} & set(standalone.split())


@pytest.mark.parametrize(
    ("question", "alone"),
    [
        ("Once in-context learning emerges in a transformer during training, does it stick around?", True),
        ("How accurate is it?", False),
        ("What datasets did they use, and how big were they?", False),
        ("And when does the sparse autoencoder method need it?", False),
        ("What GPU does it use?", False),  # the name is the detail asked about; "it" is the subject
        ("How many GPUs did they train on?", False),
        ("Which LLMs does the paper evaluate?", False),
        ("Which datasets does SeerAttention-R use?", True),
        ("What GPU does SeerAttention-R use, and is it fast?", True),
    ],
)
def test_a_pronoun_after_its_own_antecedent_needs_no_earlier_turn(question: str, alone: bool) -> None:
    assert stands_alone(question) is alone
