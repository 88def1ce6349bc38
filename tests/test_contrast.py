"""Comparisons: which papers a comparison compares (by coined name or by title), what each line says (the asked
aspect, not the names), a compared name the corpus lacks, and answering although the abstention model doubts."""

from __future__ import annotations

import pytest

from rag.answer.compose.analysis import analyse
from rag.answer.compose.contrast import Compared, aspect_terms, compared_hits, evident, opposed
from rag.answer.compose.followup import referents, resolve_followup, stands_alone
from rag.answer.compose.lead import unmentioned_in
from rag.answer.compose.naming import introduces, proposes
from rag.answer.compose.sides import mentions, titled_papers
from rag.answer.compose.sources import with_wanted
from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.notes import is_note
from rag.settings import Settings
from rag.text import markers_in, names_word, tokenize
from rag.types import Paper, Retrieved
from tests.conftest import HashEmbedder, make_paper
from tests.test_answer import answer, assert_faithful, make_hits
from tests.test_compose import ACTIVE, MAXSUP, OPERA, PAPERS, VCD

ADAPTER = make_paper(
    "Skill Experts for Text-to-Image Models",
    "We learn one expert per skill and merge them. Each expert is a single-skill LoRA module trained on "
    "generated image-text pairs. Merging experts improves prompt faithfulness by 6 points.",
)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How do OPERA and VCD differ in reducing hallucination?", "comparison"),
        ("Which needs training, TIES-Merging or aTLAS?", "comparison"),
        ("Compare the uncertainty sampling paper and MaxSup on what they fix.", "comparison"),
        ("What's the difference between mixout and the very-large-dropout paper?", "comparison"),
        ("opera vs vcd", "comparison"),
        ("How much training data did it use, and how does its size compare with the previous best models?",
         "quantity"),
        ("Which papers compare state space models against Transformers?", "list"),
    ],
)
def test_comparison_wording_whatever_the_names_look_like(question: str, kind: str) -> None:
    assert analyse(question).kind == kind


def compared_history(question: str) -> list[dict[str, str]]:
    """A chat whose last answer compared OPERA [1] and VCD [2], one labelled line each."""
    return [
        {"role": "user", "content": question},
        {"role": "assistant", "content": "- OPERA: OPERA needs no additional data or training. [1]\n"
                                         "- VCD: VCD reduces hallucination on POPE by 7 points. [2]"},
    ]  # fmt: skip


def test_papers_named_by_their_titles_are_compared() -> None:
    _, final, _ = answer("Compare the uncertainty sampling paper and MaxSup on what they fix.", PAPERS)
    lines = final.text.splitlines()
    cited = [{final.citations[n - 1].paper.title for n in markers_in(line)} for line in lines]
    assert {MAXSUP.title} in cited and {ACTIVE.title} in cited and len(lines) == 2
    assert lines[0].startswith("- MaxSup: ")  # a title's short name heads its line
    assert_faithful(final)


def test_an_abstract_that_only_mentions_a_name_is_not_its_paper() -> None:
    _, final, _ = answer("How does MaxSup differ from LoRA?", [*PAPERS, ADAPTER])
    last = final.text.splitlines()[-1]
    assert last == "No retrieved paper is about LoRA." and is_note(last)
    assert all(c.paper.title != ADAPTER.title for c in final.citations)
    assert final.citations[0].paper.title == MAXSUP.title
    assert_faithful(final)


def test_each_line_quotes_the_asked_aspect_not_the_sentence_naming_the_method() -> None:
    terms = {t: 1.0 for t in tokenize("How do OPERA and VCD differ in what they need for training?")}
    aspect = aspect_terms(terms, ["OPERA", "VCD"], [OPERA.title, VCD.title])
    assert "opera" not in aspect and "vcd" not in aspect and "differ" not in aspect
    assert {"need", "train"} <= set(aspect)
    plain = {t: 1.0 for t in tokenize("How do OPERA and VCD differ?")}
    assert aspect_terms(plain, ["OPERA", "VCD"], [OPERA.title, VCD.title]) == plain  # nothing left: all terms
    _, final, _ = answer("How do OPERA and VCD differ in what they need for training?", PAPERS)
    assert "OPERA needs no additional data or training." in final.text.splitlines()[0]


def test_a_comparison_of_retrieved_papers_is_answered_although_abstention_doubts_it() -> None:
    _, final, _ = answer("How do OPERA and VCD differ?", PAPERS, abstain=True)
    assert not final.abstained and len(final.text.splitlines()) == 2
    assert final.kind == "comparison"  # the answer carries the question's kind: the UI and CLI need not re-parse
    assert_faithful(final)
    _, off_topic, _ = answer("How does BERT differ from GPT-2?", PAPERS, abstain=True)
    assert off_topic.abstained


def test_evident_needs_two_titled_papers_or_one_and_a_missing_name() -> None:
    embedder = HashEmbedder()
    question = "How does MaxSup differ from ColBERT?"
    hits = make_hits(question, PAPERS, embedder)
    compared = compared_hits(question, ["MaxSup", "ColBERT"], Retrieved(question, hits, 0.1, True))
    assert [(c.name, c.titled) for c in compared] == [("MaxSup", True), ("ColBERT", False)]
    assert evident(compared)
    assert not evident(compared[:1])


FILTER_REC = make_paper(
    "Filter-enhanced MLP is All You Need for Sequential Recommendation",
    "Logged user behavior data contains noise. Motivated by filtering algorithms, we propose FMLP-Rec, an "
    "all-MLP model with learnable filters for sequential recommendation. Experiments on eight datasets show it "
    "beats Transformer-based models.",
)
MENTIONS_LORA = make_paper(
    "Adaptive Prompt Tuning",
    "LoRA adds low-rank updates to frozen weights. We tune prompts instead of weights. Unlike LoRA, our method "
    "needs no merging step.",
)


def test_one_paper_that_proposes_the_name_and_one_name_the_corpus_lacks_is_evident() -> None:
    """"Compare FMLP-Rec and ColBERT": FMLP-Rec's title does not name it, but its abstract says "we propose
    FMLP-Rec"; an abstract that only names a method twice ("LoRA adds ...", "Unlike LoRA") does not claim it."""
    for paper, name, claims in [(FILTER_REC, "FMLP-Rec", True), (MENTIONS_LORA, "LoRA", False)]:
        question = f"Compare {name} and ColBERT"
        hits = make_hits(question, [paper], HashEmbedder())
        compared = compared_hits(question, [name, "ColBERT"], Retrieved(question, hits, 0.1, True))
        assert [(c.name, c.hit, c.titled) for c in compared] == [(name, 0, claims), ("ColBERT", None, False)]
        assert evident(compared) is claims


def test_evident_takes_two_papers_found_by_the_names_their_abstracts_introduce() -> None:
    """The abstention model doubts comparisons (it was fitted on one-paper questions): two papers whose
    abstracts introduce the compared names are as plainly in the corpus as two named by their titles."""
    assert evident([Compared("MaxSup", 0), Compared("DIMAT", 1)])
    assert not evident([Compared("MaxSup", 0), Compared("ColBERT", None)])  # unclaimed, and one not found
    assert not evident([Compared("MaxSup", 0)])


def test_each_points_back_at_the_papers_of_the_last_answer() -> None:
    history = [
        {"role": "user", "content": "Which papers reduce hallucination in multimodal models?"},
        {"role": "assistant", "content": "OPERA penalizes over-trust [1]; VCD contrasts distorted inputs [2]."},
    ]
    assert not stands_alone("What does each say about training?")
    assert [c.marker for c in referents("What does each say about training?", history)] == [1, 2]
    plain = [history[0], {"role": "assistant", "content": "OPERA penalizes over-trust; VCD contrasts inputs."}]
    assert "OPERA" in resolve_followup("What does each say about training?", plain)  # names carried instead
    assert stands_alone("Which papers assign each token to an expert?")


def test_the_first_two_point_at_the_first_two_sources_and_compare_them() -> None:
    """"Compare the first two" after an answer citing three papers compares the first two; the standalone query
    carries their names (it retrieved an unrelated paper and answered from it)."""
    history = [
        {"role": "user", "content": "Which papers reduce hallucination in multimodal models?"},
        {"role": "assistant", "content": "- OPERA: penalizes over-trust [1]\n- VCD: contrasts inputs [2]\n"
                                         "- MaxSup: suppresses the max logit [3]"},
    ]  # fmt: skip
    assert [c.marker for c in referents("compare the first two", history)] == [1, 2]
    assert [c.marker for c in referents("How do the top 3 differ?", history)] == [1, 2, 3]
    assert referents("What is the first two-stage method?", history) == []
    assert referents("What are the first two steps of TIES-Merging?", history) == []  # the third reviewer's
    assert referents("How does the first layer work?", history) == []
    assert [c.marker for c in referents("does the second need training?", history)] == [2]
    assert [c.marker for c in referents("and the third one", history)] == [3]
    assert "OPERA" in resolve_followup("compare the first two", history)


CANDIDATES = make_paper(
    "Enhancing Cost Efficiency in Active Learning with Candidate Set Query",
    "Our method narrows down the set of candidate classes shown to the oracle. It cuts labeling cost by 42%.",
)
BETA = make_paper(
    "Harnessing the Power of Beta Scoring in Deep Active Learning for Multi-Label Text Classification",
    "We pick samples with the Beta family of proper scoring rules. The strategy beats uncertainty sampling.",
)


def test_each_part_of_the_question_names_at_most_one_paper_by_its_title() -> None:
    question = "Compare the candidate set query paper and the Beta scoring active learning paper on what they label."
    assert mentions(question) == [{"candid", "set", "queri"}, {"beta", "score", "activ", "label"}]
    hits = make_hits(question, [ACTIVE, BETA, CANDIDATES], HashEmbedder())
    compared = titled_papers(question, Retrieved(question, hits, 0.5, False), set())
    titles = [hits[c.hit].paper.title for c in compared if c.hit is not None]
    assert sorted(titles) == sorted([CANDIDATES.title, BETA.title])  # not the other active learning paper


def test_they_in_a_follow_up_comparison_are_the_papers_the_last_answer_compared() -> None:
    """"How do they differ?" names nothing itself: the papers compared are those the last answer cited (its lines
    are labelled with their short names), found once with the evidence; the comparison is answered although
    the abstention model doubts the hits, since the conversation named both papers."""
    previous = ("- OPERA: OPERA needs no additional data or training. [1]\n"
                "- VCD: VCD reduces hallucination on POPE by 7 points. [2]")
    history = [{"role": "user", "content": "Which papers reduce hallucination in multimodal models?"},
               {"role": "assistant", "content": previous}]  # fmt: skip
    assert [c.marker for c in referents("How do they differ?", history)] == [1, 2]
    assert referents("What did they find?", history) == []  # "they" alone is not a comparison of both
    for question in ("How do they differ?", "How do the two differ in what they need for training?"):
        for doubted in (False, True):
            _, final, _ = answer(question, PAPERS, abstain=doubted, history=history)
            lines = final.text.splitlines()
            assert not final.abstained and len(lines) == 2, (question, final.text)
            assert {line.split(":")[0] for line in lines} == {"- OPERA", "- VCD"}
            assert_faithful(final)
    _, training, _ = answer("How do the two differ in what they need for training?", PAPERS, history=history)
    assert training.text.startswith("- OPERA: OPERA needs no additional data or training. [1]")


def test_a_comparison_of_them_carries_their_names_and_a_chained_follow_up_its_topic() -> None:
    """"Compare the two" reads unlike the question that found the two papers, so the query carries their names
    (without them retrieval kept one of the two); "Which of them ..." after "How do they differ?" carries the
    topic of the question before, which found them (the query was "differ Which of them ..."). "They" as the
    authors ("What baselines do they compare against?") is not a comparison of the last answer's papers."""
    listing = ("- OPERA: OPERA needs no additional data or training. [1]\n"
               "- VCD: VCD reduces hallucination on POPE by 7 points. [2]")
    first = [{"role": "user", "content": "Which papers reduce hallucination in multimodal models?"},
             {"role": "assistant", "content": listing}]  # fmt: skip
    query = resolve_followup("Compare the two", first)
    assert "OPERA" in query and "VCD" in query and "hallucination" in query
    one = [first[0], {"role": "assistant", "content": "OPERA needs no additional data or training. [1]"}]
    for authors in ("What baselines do they compare against?", "Do they compare to prefix tuning?",
                    "Which datasets did they use to compare?"):  # fmt: skip
        assert referents(authors, first) == [], authors
        assert [c.marker for c in referents(authors, one)] == [1], authors  # one paper: they are its authors
    for both in ("How do they compare?", "What are the differences between them?", "Are they different?"):
        assert [c.marker for c in referents(both, first)] == [1, 2], both
    chained = [*first, {"role": "user", "content": "How do they differ?"}, {"role": "assistant", "content": listing}]
    query = resolve_followup("Which of them needs no training?", chained)
    assert "hallucination" in query and "differ" in query



def test_a_name_that_ends_in_a_modifier_is_what_is_compared_not_a_compared_name() -> None:
    """"MI-based representation learning" is the compared aspect: no line "No retrieved paper is about MI-based"."""
    question = "How does FMLP-Rec's take on MI-based recommendation contrast with ColBERT?"
    hits = make_hits(question, [FILTER_REC, MENTIONS_LORA], HashEmbedder())
    compared = compared_hits(question, ["FMLP-Rec", "MI-based", "ColBERT"], Retrieved(question, hits, 0.5, False))
    assert [c.name for c in compared] == ["FMLP-Rec", "ColBERT"]


SEER = make_paper(
    "SeerAttention-R: Sparse Attention Adaptation for Long Reasoning",
    "We introduce SeerAttention-R, a sparse attention framework for reasoning models. Using TileLang, we develop "
    "a highly optimized sparse decoding kernel that achieves speedups of up to 9x over FlashAttention-3 on H100.",
)


def test_a_title_takes_its_paper_before_an_abstract_that_mentions_another_name() -> None:
    """"Which is faster, FlashAttention or SeerAttention-R?": SeerAttention-R's abstract develops a kernel
    faster than FlashAttention-3, which does not make it FlashAttention's paper; the corpus lacks FlashAttention,
    and the answer says so beside SeerAttention-R's line instead of "does not state the faster"."""
    question = "Which is faster, FlashAttention or SeerAttention-R?"
    hits = make_hits(question, [SEER, MAXSUP], HashEmbedder())
    compared = compared_hits(question, ["FlashAttention", "SeerAttention-R"], Retrieved(question, hits, 0.5, False))
    assert [(c.name, c.hit is not None and hits[c.hit].paper.title == SEER.title) for c in compared] == [
        ("FlashAttention", False), ("SeerAttention-R", True)]
    assert compared[0].hit is None
    _, final, _ = answer(question, [SEER, MAXSUP])
    assert final.text.startswith("- SeerAttention-R: ") and "No retrieved paper is about FlashAttention." in final.text
    assert "not state" not in final.text


def test_a_benchmark_a_compared_paper_mentions_is_no_missing_name() -> None:
    """"... on H100" names a benchmark or device one compared paper mentions: it is no compared name the corpus
    lacks; "FlashAttention or SeerAttention-R" sets FlashAttention against a name, so it is one."""
    assert opposed("Which is faster, FlashAttention or SeerAttention-R?", ["FlashAttention", "SeerAttention-R"]) == {
        "FlashAttention", "SeerAttention-R"}
    assert opposed("Which is better on ImageNet, MaxSup or SeerAttention-R?",
                   ["ImageNet", "MaxSup", "SeerAttention-R"]) == {"MaxSup", "SeerAttention-R"}
    question = "Compare SeerAttention-R and MaxSup on H100"
    hits = make_hits(question, [SEER, MAXSUP], HashEmbedder())
    compared = compared_hits(question, ["SeerAttention-R", "MaxSup", "H100"], Retrieved(question, hits, 0.5, False))
    assert [c.name for c in compared] == ["SeerAttention-R", "MaxSup"]


def test_an_introducing_verb_far_from_the_name_does_not_introduce_it() -> None:
    assert not introduces(SEER.abstract, "FlashAttention")  # "we develop a ... kernel ... over FlashAttention-3"
    assert introduces(SEER.abstract, "SeerAttention-R") and introduces(FILTER_REC.abstract, "FMLP-Rec")
    assert introduces(MENTIONS_LORA.abstract, "LoRA")  # two sentences name it: about it, though not its own


@pytest.mark.parametrize(("sentence", "name", "claimed"), [
    ("Motivated by it, we propose FMLP-Rec, an all-MLP model.", "FMLP-Rec", True),
    ("To address these issues, we propose Max Suppression (MaxSup), which applies it.", "MaxSup", True),
    ("In this paper, we propose a novel framework Read-ME that transforms dense LLMs.", "Read-ME", True),
    ("Our method, named InfoMEC, measures modularity.", "InfoMEC", True),
    ("It beats our proposed method over competitive RNN, CNN, GNN and Transformer-based methods.", "GNN", False),
    ("We evaluate on our proposed GPT-4o object binding benchmark.", "GPT-4o", False),
    ("We introduce the pre-gating router decoupled from the MoE backbone.", "MoE", False),
    ("We propose LoRAX for serving adapters.", "LoRA", False),
    ("Unlike the recently introduced LoRA, we tune prompts.", "LoRA", False),
    ("We compare them in terms of GLUE.", "GLUE", False),
    ("First, we use our framework to propose NormGrad, a novel saliency method.", "NormGrad", True),
    ("We use NormGrad to propose a metric.", "NormGrad", False),
])  # fmt: skip
def test_proposes_needs_the_authors_verb_and_the_name_ending_its_phrase(sentence: str, name: str,
                                                                      claimed: bool) -> None:
    """The reviewer's comparisons ("Compare GNN and ColBERT", "Compare GPT-4o and GPT-5") were answered from
    papers that only mention those names near "proposed" or "introduce"."""
    assert proposes(sentence, name) is claimed


NORMGRAD = make_paper(
    "There and Back Again: Revisiting Backpropagation Saliency Methods",
    "We conduct an analysis of backpropagation-based saliency methods. First, we use our framework to propose "
    "NormGrad, a novel saliency method based on the spatial contribution of gradients of convolutional weights.",
)
FULLGRAD = make_paper(
    "Full-Gradient Representation for Neural Network Visualization",
    "We introduce a new tool for interpreting neural nets. For convolutional nets, we also propose an approximate "
    "saliency map representation, called FullGrad, obtained by aggregating the full-gradient components.",
)


def test_a_name_the_paper_named_by_its_title_proposes_is_not_missing() -> None:
    """"... contrast with NormGrad from 'There and Back Again'": the titled paper proposes NormGrad, so the answer
    quotes it and never adds "No retrieved paper is about NormGrad." (comp_fit cmp-013 did)."""
    question = "How does FullGrad's approach to saliency maps contrast with NormGrad from 'There and Back Again'?"
    hits = make_hits(question, [NORMGRAD, FULLGRAD], HashEmbedder())
    compared = compared_hits(question, ["FullGrad", "NormGrad"], Retrieved(question, hits, 0.5, False))
    assert all(c.hit is not None for c in compared) and len({c.hit for c in compared}) == 2
    _, final, _ = answer(question, [NORMGRAD, FULLGRAD])
    assert "No retrieved paper is about" not in final.text and "NormGrad" in final.text and "FullGrad" in final.text
    mentioned = make_paper(NORMGRAD.title, "We revisit saliency methods such as NormGrad on convolutional nets.")
    hits = make_hits(question, [mentioned, FULLGRAD], HashEmbedder())
    compared = compared_hits(question, ["FullGrad", "NormGrad"], Retrieved(question, hits, 0.5, False))
    assert [c.name for c in compared if c.hit is None] == ["NormGrad"]  # a mention only: the reviewer's Grad-CAM


IMAGENET_TWICE = make_paper(
    "Scaling Vision Backbones",
    "We pretrain backbones on ImageNet-21k. Fine-tuned on ImageNet, they reach 88% top-1 accuracy.",
)


def test_names_outside_the_opposed_ones_are_context_not_compared() -> None:
    """"Which is better on ImageNet, MaxSup or SeerAttention-R?" compares MaxSup and SeerAttention-R; an abstract
    naming ImageNet twice is not ImageNet's line (the known issue of the last pass)."""
    question = "Which is better on ImageNet, MaxSup or SeerAttention-R?"
    hits = make_hits(question, [IMAGENET_TWICE, SEER, MAXSUP], HashEmbedder())
    compared = compared_hits(question, ["ImageNet", "MaxSup", "SeerAttention-R"], Retrieved(question, hits, 0.5, False))
    assert sorted(c.name for c in compared) == ["MaxSup", "SeerAttention-R"]
    assert all(hits[c.hit].paper.title != IMAGENET_TWICE.title for c in compared if c.hit is not None)



def test_a_name_several_retrieved_abstracts_cite_needs_a_paper_that_proposes_it() -> None:
    """"... compare with LoRA?": two abstracts naming LoRA twice each cite a baseline; neither is LoRA's paper
    (dev_fit's LoFiT question got a line for IAPT as LoRA's). One abstract naming it twice still is its paper."""
    question = "Which is more parameter-efficient, MaxSup or LoRA?"
    twice = make_paper("Prompt Tuning Beats Adapters", "LoRA needs merging. We tune prompts and compare with LoRA.")
    hits = make_hits(question, [MAXSUP, MENTIONS_LORA, twice], HashEmbedder())
    compared = compared_hits(question, ["MaxSup", "LoRA"], Retrieved(question, hits, 0.5, False))
    assert [(c.name, c.hit is None) for c in compared] == [("MaxSup", False), ("LoRA", True)]
    alone = make_hits(question, [MAXSUP, MENTIONS_LORA], HashEmbedder())
    compared = compared_hits(question, ["MaxSup", "LoRA"], Retrieved(question, alone, 0.5, False))
    assert [(c.name, c.hit is None) for c in compared] == [("MaxSup", False), ("LoRA", False)]



def test_compare_the_first_two_compares_the_pointed_papers_not_names_carried_from_the_last_answer() -> None:
    """After a list whose first line names GPT-2, "compare the first 2 papers" compared one paper with "GPT-2"
    (a name the standalone query carried): it now compares the two papers pointed at."""
    history = [
        {"role": "user", "content": "Which papers study hallucination in multimodal models?"},
        {"role": "assistant", "content": "- OPERA: GPT-2 decodes with OPERA penalties. [1]\n"
                                         "- VCD: VCD contrasts distorted inputs. [2]"},
    ]  # fmt: skip
    standalone = resolve_followup("compare the first 2 papers", history)
    assert "OPERA" in standalone and "GPT-2" in standalone
    _, final, _ = answer("compare the first 2 papers", [*PAPERS], history=history)
    assert "No retrieved paper is about" not in final.text
    assert {c.paper.title for c in final.citations} == {OPERA.title, VCD.title}


def test_which_one_is_better_compares_the_papers_shown_even_when_retrieval_doubts_it() -> None:
    """After a comparison, "which one is better?" was refused (the abstention model judged the carried query);
    it points at the papers the last answer cited, so it is answered with a line for each."""
    history = compared_history("OPERA vs VCD")
    assert [c.marker for c in referents("which one is better?", history)] == [1, 2]
    _, final, _ = answer("which one is better?", PAPERS, abstain=True, history=history)
    assert not final.abstained and {line.split(":")[0] for line in final.text.splitlines()} == {"- OPERA", "- VCD"}
    assert_faithful(final)


def test_a_doubted_question_about_them_that_is_no_comparison_is_still_refused() -> None:
    """The third reviewer: after a list, "which of them is from Google?" was answered with look-alike quotes once a
    follow-up pointing at papers shown overruled the abstention model; only comparing them does."""
    history = compared_history("Which papers reduce hallucination in multimodal models?")
    _, final, _ = answer("which of them is from Google?", PAPERS, abstain=True, history=history)
    assert final.abstained
    _, final, _ = answer("which is better?", PAPERS, abstain=True, history=history)
    assert not final.abstained and len(final.citations) == 2


def test_a_correction_is_not_answered_from_the_paper_it_corrects() -> None:
    """"No, I meant the paper on ..." carried the wrong paper's name and pointed back at it ("the paper"), so the
    third reviewer's corrections were answered from the paper just cited again."""
    history = [
        {"role": "user", "content": "How does OPERA reduce hallucination?"},
        {"role": "assistant", "content": "OPERA is a decoding method that adds an over-trust penalty on the beam "
                                         "search scores. [1]"},
    ]  # fmt: skip
    question = "no, I meant the paper on contrastive decoding of distorted visual inputs"
    assert referents(question, history) == [] and "OPERA" not in resolve_followup(question, history)
    _, final, _ = answer(question, PAPERS, history=history)
    assert final.citations and all(c.paper.title != OPERA.title for c in final.citations)


def test_an_ordinal_past_the_last_answer_counts_in_the_list_before() -> None:
    """"And the fifth?" after "what does the fourth one do?" repeated the fourth paper (the third reviewer)."""
    listing = "\n".join(f"- Paper {c}: finding {c.lower()} [{i}]" for i, c in enumerate("ABCDE", start=1))
    history = [{"role": "user", "content": "Which papers study MoE?"}, {"role": "assistant", "content": listing},
               {"role": "user", "content": "what does the fourth one do?"},
               {"role": "assistant", "content": "Paper D does w. [1]"}]  # fmt: skip
    assert [c.texts for c in referents("and the fifth?", history)] == [("Paper E: finding e",)]
    assert [c.marker for c in referents("compare the first three", history)] == [1, 2, 3]
    assert [c.texts for c in referents("does it need training?", history)] == [("Paper D does w.",)]


def test_a_follow_up_about_one_paper_says_which_name_its_abstract_never_mentions() -> None:
    """"Does it work with MoE models?" about one paper was answered with its closest quotes, as if they said so
    (the third reviewer); other retrieved abstracts mentioning MoE must not hide that this one does not."""
    moe = make_paper("Sparse Experts at Scale", "We train MoE models with 64 experts. MoE routing balances load.")
    history = [{"role": "user", "content": "What is VCD?"},
               {"role": "assistant", "content": "We introduce VCD, which contrasts output distributions from "
                                                "original and distorted visual inputs. [1]"}]  # fmt: skip
    _, final, _ = answer("does it work with MoE models?", [VCD, moe], history=history)
    assert final.text.startswith("The VCD abstract does not state anything about MoE. [1]")
    assert final.not_stated == "The VCD abstract does not state anything about MoE."
    _, final, _ = answer("does it work on POPE?", [VCD, moe], history=history)
    assert final.not_stated is None  # its abstract names POPE


def test_the_fourth_reviewers_follow_ups() -> None:
    """A correction naming the paper just cited stays on it; "what are the first two papers about?" points at
    them; a name the paper spells out ("mixture of experts" for MoE, "GPT-4" for GPT4) is no missing name."""
    history = [
        {"role": "user", "content": "How does OPERA reduce hallucination?"},
        {"role": "assistant", "content": "OPERA is a decoding method that adds an over-trust penalty on the beam "
                                         "search scores. [1]"},
    ]  # fmt: skip
    _, final, _ = answer("no, I meant what OPERA needs for training", PAPERS, history=history)
    assert final.citations[0].paper.title == OPERA.title
    listing = [{"role": "user", "content": "papers?"},
               {"role": "assistant", "content": "- OPERA: penalizes over-trust [1]\n- VCD: contrasts inputs [2]\n"
                                                "- MaxSup: suppresses the max logit [3]"}]  # fmt: skip
    assert [c.marker for c in referents("what are the first two papers about?", listing)] == [1, 2]
    assert [c.marker for c in referents("do the first two use RL?", listing)] == [1, 2]
    spelled = make_paper("Sparse Experts", "We use mixture-of-experts layers and compare with GPT-4. The method "
                         "predicts performance of outputs.")  # fmt: skip
    hits = Retrieved("q", make_hits("q", [spelled], HashEmbedder()), 0.5, False)
    acronyms = {"moe": {"mixture of experts"}, "ppo": {"proximal policy optimization"}}
    assert unmentioned_in("does it work with MoE models?", hits, 0, acronyms) == ""  # spelled out as defined
    assert unmentioned_in("does it beat GPT4?", hits, 0, acronyms) == ""
    assert unmentioned_in("does it use PPO?", hits, 0, acronyms).startswith(  # "predicts performance of" is no PPO
        "The Sparse Experts abstract does not state anything about PPO.")


def test_a_follow_up_naming_an_acronym_uses_the_corpus_long_forms(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The fifth reviewer: matching initials by chance ("paradigm presents opportunity" for PPO) hid real notes;
    only the long forms the corpus defines ("mixture of experts (MoE)") count as naming the acronym."""
    def second(first: str, then: str):  # type: ignore[no-untyped-def]
        a = real_pipeline.ask(first, answerer="extractive")
        return real_pipeline.ask(then, [{"role": "user", "content": first}, {"role": "assistant", "content": a.text}],
                                 answerer="extractive")  # fmt: skip

    assert second("What is DIMAT?", "Does it use PPO?").not_stated == (
        "The DIMAT abstract does not state anything about PPO.")
    assert second("what does learning to skip the middle layers do", "does it work with MoE models?").not_stated is None


def test_do_both_compares_them_one_line_each() -> None:
    """"Do both need training?" after a comparison answered from one of the two (the third reviewer)."""
    history = compared_history("Compare OPERA and VCD")
    _, final, _ = answer("do both need training?", PAPERS, history=history)
    assert {line.split(":")[0] for line in final.text.splitlines()} == {"- OPERA", "- VCD"}
    assert_faithful(final)



def test_two_ordinals_point_at_two_sources() -> None:
    """"Is the first better than the second?", "compare the first and the third" pointed at one paper."""
    history = [{"role": "user", "content": "papers?"},
               {"role": "assistant", "content": "- A: x [1]\n- B: y [2]\n- C: z [3]"}]  # fmt: skip
    assert [c.marker for c in referents("is the first better than the second?", history)] == [1, 2]
    assert [c.marker for c in referents("compare the first and the third", history)] == [1, 3]
    assert [c.marker for c in referents("which is faster, the first or the second?", history)] == [1, 2]
    assert referents("How does the first layer work?", history) == []



def test_both_and_each_compare_them_but_do_not_overrule_a_doubt() -> None:
    """The last reviewer: "Does each of them run on a Raspberry Pi?" got past a doubting abstention model once
    "do both" compared the papers; only "which is better"-style comparisons do. Ordinals joined by "or" are
    pointers only when both are ("the first or the second", not "the second or third layer")."""
    history = compared_history("OPERA vs VCD")
    _, final, _ = answer("Does each of them run on a Raspberry Pi?", PAPERS, abstain=True, history=history)
    assert final.abstained
    _, final, _ = answer("is the first better than the second?", PAPERS, history=history)
    assert {line.split(":")[0] for line in final.text.splitlines()} == {"- OPERA", "- VCD"}
    assert referents("Does the second or third layer matter most?", history) == []
    assert referents("Is the first and last layer frozen?", history) == []
    assert [c.marker for c in referents("which is faster, the first or the second?", history)] == [1, 2]


@pytest.mark.parametrize("question", ["Compare Sparsemax and MaxSup", "How do sparsemax and MaxSup differ?",
                                      "sparsemax vs maxsup", "compare sparsemax and maxsup"])
def test_a_compared_name_that_is_not_coined_gets_its_line(real_pipeline, question: str) -> None:  # type: ignore[no-untyped-def]
    """The reviewer's "Compare Sparsemax and MaxSup" was refused and "How do sparsemax and MaxSup differ?" answered
    from MaxSup alone: a compared name without inner capitals counted for nothing."""
    final = real_pipeline.ask(question, answerer="extractive")
    titles = {c.paper.title.split(":")[0] for c in final.citations}
    assert {"From Softmax to Sparsemax", "MaxSup"} <= titles, final.text
    assert sum(line.startswith("- ") for line in final.text.splitlines()) == 2


def test_only_a_compared_word_that_is_no_ordinary_word_is_a_name() -> None:
    from rag.answer.compose.contrast import lower_case_sides
    from rag.text import compared_words

    assert list(compared_words("How do sparsemax and MaxSup differ?").values()) == ["sparsemax", "MaxSup"]
    assert list(compared_words("the difference between sparsemax and softmax").values()) == ["sparsemax", "softmax"]
    def is_name(word: str) -> bool:  # the corpus's test (rag.retrieve.names): sparsemax is a paper's name
        return word == "sparsemax"

    assert lower_case_sides("How do sparsemax and MaxSup differ?", ["MaxSup"], is_name) == ["sparsemax", "MaxSup"]
    assert lower_case_sides("How do attention and MaxSup differ?", ["MaxSup"], is_name) == ["MaxSup"]
    assert lower_case_sides("what speedup vs PowerInfer", ["PowerInfer"], is_name) == ["PowerInfer"]


@pytest.mark.parametrize(("question", "kind"), [
    ("mixture of experts papers", "list"), ("contrastive learning theory papers?", "list"),
    ("sparse autoencoder papers", "list"), ("the first two papers", "lookup"), ("summarize both papers", "lookup"),
    ("compare the two papers", "comparison"), ("how many papers", "quantity"),
    ("please compare the MaxSup and OPERA papers", "comparison"), ("MaxSup vs OPERA papers", "comparison"),
    ("differences between the SPLADE and RetroMAE papers", "comparison"),
    ("explain how in-context learning works", "lookup"), ("Give the limitations discussed in these studies", "lookup"),
    ("papers using sparse autoencoders", "list"), ("recent papers proposing new merging methods", "list"),
    ("Compare the papers using LoRA and prompt tuning", "comparison"),
])  # fmt: skip
def test_a_topic_typed_before_papers_asks_for_a_list(question: str, kind: str) -> None:
    """The reviewer's "mixture of experts papers" got one paper's prose; "papers on mixture of experts" a list."""
    from rag.answer.compose.analysis import analyse

    assert analyse(question).kind == kind


def test_a_search_typed_topic_lists_its_papers(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    final = real_pipeline.ask("mixture of experts papers", answerer="extractive")
    assert sum(line.startswith("- ") for line in final.text.splitlines()) >= 3, final.text


def test_a_lower_case_word_set_against_a_name_is_compared_only_when_a_title_names_it(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The reviewer's "what gpu did coreinfer use and what speedup vs powerinfer" ended "No retrieved paper is about
    speedup, PowerInfer.": "speedup" is no ordinary word of the tokenizer, but no paper is called that."""
    final = real_pipeline.ask("what gpu did coreinfer use and what speedup vs powerinfer", answerer="extractive")
    assert "speedup," not in final.text and "TITAN XP" in final.text, final.text



@pytest.mark.parametrize(("question", "named"), [
    ("discriminative vs generative classifiers", []),
    ("differences between sparsemax and softmax attention", ["sparsemax"]),
    ("what is the difference between pretraining and finetuning?", []),
])  # fmt: skip
def test_topic_words_set_side_by_side_get_no_paper_line(real_pipeline, question: str, named: list[str]) -> None:  # type: ignore[no-untyped-def]
    """The regression review: a lower-case word in any retrieved title counted as a compared name ("generative" gave
    GRAM a line). A paper's name is in a title and in few documents (``rag.retrieve.names``)."""
    from rag.text import compared_words

    sides = [w for w in compared_words(question).values() if real_pipeline.retriever.names_word(w)]
    assert sides == named


def test_the_corpus_tells_a_papers_name_from_a_topic_word(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    names = real_pipeline.retriever.names_word
    assert all(names(w) for w in ("sparsemax", "tabpfn", "mixout", "maxsup", "splade"))
    assert not any(names(w) for w in ("speedup", "latency", "softmax", "pruning", "generative", "finetuning",
                                      "distillation", "attention", "vcd", "colbert", "pitfalls", "quantization",
                                      "sparsification", "extrapolation", "outliers", "recursive"))



def test_a_name_the_corpus_lacks_set_against_a_name_is_said_to_be_missing_as_typed(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """"opera vs vcd" was refused; upper-casing short unknown words gave "TANH" and "QLORA" (regression review)."""
    final = real_pipeline.ask("opera vs vcd", answerer="extractive")
    assert final.text.splitlines()[0].startswith("- OPERA: ") and "No retrieved paper is about vcd." in final.text


def test_a_side_typed_as_a_lower_case_phrase_is_compared(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's "compare early dropout and mixout" and "mixout vs early dropout" quoted Dropout Reduces Underfitting
    alone: "mixout" names its paper, "early dropout" is ordinary words, and one found side makes no comparison."""
    for question in ("compare early dropout and mixout", "mixout vs early dropout"):
        answer = real_pipeline.ask(question, answerer="extractive")
        titles = {c.paper.title.split(":")[0] for c in answer.citations}
        assert {"Mixout", "Dropout Reduces Underfitting"} <= titles, answer.text
        assert sum(line.startswith("- ") for line in answer.text.splitlines()) == 2, answer.text


def test_a_name_the_question_does_not_compare_is_no_missing_side(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's "membership inference AUC for books vs papers" ended "No retrieved paper is about AUC.": AUC is a
    metric a retrieved abstract reports, not a side of the comparison. A compared name no paper is about is still
    said plainly."""
    auc = real_pipeline.ask("membership inference AUC for books vs papers", answerer="extractive")
    assert "AUC." not in auc.text.splitlines()[-1], auc.text
    colbert = real_pipeline.ask("SPLADE vs ColBERT", answerer="extractive")
    assert colbert.text.splitlines()[-1] == "No retrieved paper is about ColBERT.", colbert.text


def test_our_proposed_approach_names_the_method_it_introduces() -> None:
    assert proposes("Empirically, using external metrics, our proposed approach, Loki, gains up to 29.7%.", "Loki")
    assert proposes("Our approach, T-JEPA, relies on a Joint Embedding Predictive Architecture.", "T-JEPA")
    assert not proposes("We compare with the baseline method, Adam, on three tasks.", "Adam")


def test_with_wanted_brings_named_papers_up_in_place_of_the_lowest_unwanted() -> None:
    """The kept hits stay in rank order; a wanted hit below ``k`` replaces the last kept hit not asked about."""
    papers = [make_paper(f"Paper {i}", f"Abstract number {i} says {i}.") for i in range(8)]
    ranked = Retrieved("q", make_hits("q", papers, HashEmbedder()), 0.9, False)
    order = [h.paper.title for h in ranked.hits]
    kept = [h.paper.title for h in with_wanted(ranked, {1, 6}, 4).hits]
    assert kept == [order[0], order[1], order[2], order[6]]
    kept = [h.paper.title for h in with_wanted(ranked, {0, 1, 5, 6, 7}, 3).hits]
    assert kept == [order[0], order[1], order[5]]  # no unwanted hit left to give its place
    assert with_wanted(ranked, set(), 4).hits == ranked.hits[:4]


def test_a_compared_name_is_matched_as_a_word_of_a_title_not_inside_one() -> None:
    """"DARE vs DIN": "DIN" is inside "Decoupled Embeddings", the DARE paper's title, which took DIN's place."""
    assert names_word("Deep Interest Network (DIN) for CTR", "DIN")
    assert names_word("SeerAttention-R: Sparse Attention Adaptation", "SeerAttention-R")
    assert names_word("SeerAttention-R: Sparse Attention Adaptation", "SeerAttention")  # a version of it
    assert names_word("λ-ECLIPSE: Multi-Concept Personalized Text-to-Image", "ECLIPSE")
    assert not names_word("LoRA-BAM: Input Filtering for Fine-tuned LLMs", "LoRA")  # another paper's name
    assert names_word("Mixture of LoRAs", "LoRA")
    assert not names_word("Long-Sequence Recommendation Models Need Decoupled Embeddings", "DIN")


@pytest.mark.parametrize(
    ("question", "titles"),
    [
        ("How does GRAM compare to Con-J?", {"GRAM", "Beyond Scalar Reward Model"}),
        ("DARE vs DIN", {"Long-Sequence Recommendation Models Need Decoupled Embeddings",
                         "Deep Interest Network for Click-Through Rate Prediction"}),
    ],
)
def test_a_compared_paper_ranked_below_the_sources_is_compared(real_pipeline, question: str,  # type: ignore[no-untyped-def]
                                                               titles: set[str]) -> None:
    """A reviewer's "How does GRAM compare to Con-J?" was refused: GRAM's paper ranked eighth, below the five
    sources. "DARE vs DIN" was refused too: DIN's line went to the DARE paper, whose title holds "embeDDINgs"."""
    final = real_pipeline.ask(question, answerer="extractive")
    assert {c.paper.title.split(":")[0] for c in final.citations} == titles, final.text
    assert sum(line.startswith("- ") for line in final.text.splitlines()) == 2, final.text


def test_only_the_paper_a_typed_name_belongs_to_is_brought_up(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """"... how does DoRA compare with LoRA?": "LoRA-BAM: ... over LoRA Layers" names LoRA in its title but is
    another method, and a paper matched by title words ("CINEMA" for "subject-driven generation") is not one the
    question names: neither is brought up from below the sources."""
    dora = real_pipeline.ask("What is DoRA (weight-decomposed low-rank adaptation) and how does it compare with LoRA "
                             "on commonsense reasoning benchmarks?", answerer="extractive")
    assert not any(c.paper.title.startswith("LoRA-BAM") for c in dora.citations), dora.text
    dream = real_pipeline.ask("How does DreamTuner's approach to subject-driven generation contrast with DreamBooth's?",
                              answerer="extractive")
    assert {c.paper.title.split(":")[0] for c in dream.citations} == {"DreamTuner"}, dream.text


def test_the_sources_a_follow_up_points_at_are_given_to_the_answer_though_ranked_low() -> None:
    """"Which of them ...?" asks about the last answer's sources: one ranked below ``k`` for the follow-up's query
    is brought up in place of the lowest-ranked paper the follow-up does not point at."""
    papers = [make_paper(f"Paper {name}", f"Method {name} trains a model on {name} data for {i} epochs.")
              for i, name in enumerate(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"])]
    a = ExtractiveAnswerer(Settings(), HashEmbedder())
    ranked = Retrieved("q", make_hits("alpha beta gamma delta", papers, HashEmbedder()), 0.8, False)
    low = ranked.hits[6].paper
    history = [{"role": "user", "content": "Which papers train models?"},
               {"role": "assistant", "content": f"- {ranked.hits[0].paper.title}: {ranked.hits[0].paper.abstract} [1]\n"
                                                f"- {low.title}: {low.abstract} [2]"}]
    given = a.sources("Which of them trains longer?", ranked, 3, history)
    assert [h.paper.title for h in given.hits] == [ranked.hits[0].paper.title, ranked.hits[1].paper.title, low.title]
    alone = a.sources("Which papers train for many epochs?", ranked, 3, history)  # stands alone: points at none
    assert alone.hits == ranked.hits[:3]


@pytest.mark.parametrize(("sentence", "name"), [
    ("Our Orthogonal Compatible Aligned (OCA) approach eliminates the need for re-indexing.", "OCA"),
    ("In particular, our procedure, Sharpness-Aware Minimization (SAM), seeks flat minima.", "SAM"),
])
def test_the_acronym_of_our_long_form_is_proposed(sentence: str, name: str) -> None:
    """"Compare BT^2 and OCA" ended "No retrieved paper is about OCA." while citing the OCA paper, and "sam vs
    maxsup" said the same of SAM: "our <Long Form> (ACRONYM)" names the paper's own method."""
    assert proposes(sentence, name)
    assert not proposes("Our results show that it beats Direct Preference Optimization (DPO) by far.", "DPO")


@pytest.mark.parametrize("question", ["Compare BT^2 and OCA", "sam vs maxsup"])
def test_a_method_named_by_our_acronym_is_compared_not_missing(real_pipeline, question: str) -> None:  # type: ignore[no-untyped-def]
    final = real_pipeline.ask(question, answerer="extractive")
    assert "No retrieved paper is about" not in final.text and len(final.citations) == 2, final.text


def test_a_name_the_question_does_not_compare_takes_no_paper_by_its_title(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The regression review's "How do ExLM and MAE-LM differ in how they handle [MASK] tokens?" gained a third line
    for "Improving ... via Mask Specific losses": "[MASK]" is what they handle, not a compared method."""
    final = real_pipeline.ask("How do ExLM and MAE-LM differ in how they handle [MASK] tokens?", answerer="extractive")
    titles = {c.paper.title.split(":")[0] for c in final.citations}
    assert titles == {"ExLM", "Representation Deficiency in Masked Language Modeling"}, final.text


def test_only_opposed_paper_names_are_brought_up_from_below_the_sources() -> None:
    assert opposed("How does GRAM compare to Con-J?", ["GRAM", "Con-J"]) == {"GRAM", "Con-J"}
    assert opposed("Compare BT^2 and OCA", ["BT", "OCA"]) == {"BT", "OCA"}
    assert opposed("How do ExLM and MAE-LM differ on [MASK] tokens?", ["ExLM", "MAE-LM", "MASK"]) == {"ExLM", "MAE-LM"}


def test_it_versus_a_name_compares_the_paper_it_points_at(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The second regression check's "What is Activation Beacon?" then "it vs SeerAttention-R" lost Activation
    Beacon's line: "it" is no name, and "LLM" had stood for its title by accident."""
    first = real_pipeline.ask("What is Activation Beacon?", answerer="extractive")
    history = [{"role": "user", "content": "What is Activation Beacon?"}, {"role": "assistant", "content": first.text}]
    final = real_pipeline.ask("it vs SeerAttention-R", history, answerer="extractive")
    lines = [line for line in final.text.splitlines() if line.startswith("- ")]
    assert len(lines) == 2 and "Activation Beacon" in lines[0] and lines[1].startswith("- SeerAttention-R"), final.text


def _line_titles(text: str) -> list[str]:
    return [line[2:].split(":")[0] for line in text.splitlines() if line.startswith("- ")]


@pytest.mark.parametrize(("question", "titles"), [
    ("How do the Bayesian-decision-theory long-tailed classification paper and the neural-collapse long-tailed "
     "paper each try to help the tail classes?", ["Long-tailed Classification from a Bayesian-decision-theory",
                                                  "Inducing Neural Collapse in Deep Long-tailed Learning"]),
    ("Read-ME and the MoTE paper both work with mixture-of-experts LLMs. What is each trying to achieve?",
     ["Read-ME", "Mixture of Tunable Experts"]),
    ("How do 'What and How does In-Context Learning Learn?' and 'In-context learning and Occam's razor' explain "
     "in-context learning?", ["What and How does In-Context Learning Learn?", "In-context learning and Occam"]),
])
def test_a_question_asked_of_each_named_paper_gets_a_line_per_paper(  # type: ignore[no-untyped-def]
        real_pipeline, question: str, titles: list[str]) -> None:
    """comp2_fit: "X and Y each ...", "What is each ...?" and two written-out titles (whose "and" splits no
    mention, whose "In-Context" names no third paper) were answered from one paper."""
    final = real_pipeline.ask(question, answerer="extractive")
    lines = _line_titles(final.text)
    assert len(lines) == len(titles) and all(any(t in line for line in lines) for t in titles), final.text
    assert_faithful(final)


def test_each_of_one_paper_s_parts_is_no_comparison(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """"each" of one named paper's parts ("each activation channel") asks no comparison: prose, no lines."""
    final = real_pipeline.ask("How does CHESS pick a threshold for each activation channel?", answerer="extractive")
    assert not _line_titles(final.text) and "CHESS" in final.text, final.text


@pytest.mark.parametrize(("question", "not_a_side"), [
    ("How are training and inference costs reduced in Read-ME?", "Did the Neurons Read your Book?"),
    ("Can each token attend to every other token in SeerAttention-R?", "Reasoning to Attend"),
    ("How did MaxSup change intra-class variation and inter-class boundaries?", "Breaking Class Barriers"),
    ("How do MaxSup and label smoothing compare on open-set recognition?", "Open-Set Recognition"),
])
def test_a_question_about_one_paper_or_topic_takes_no_other_paper_as_a_side(  # type: ignore[no-untyped-def]
        real_pipeline, question: str, not_a_side: str) -> None:
    """The reviewer's questions that the "each side" rule and a written-out title head ("Open-Set Recognition")
    turned into two-paper answers: "and" alone, "Can each token ..." and a three-word topic compare no paper."""
    final = real_pipeline.ask(question, answerer="extractive")
    assert not any(not_a_side in line for line in _line_titles(final.text)), final.text
    assert final.citations and not final.abstained, final.text  # answered, not passed by refusing


def test_a_question_about_the_first_two_answers_each_of_them() -> None:
    """"How do the first two reduce hallucination?" after a list was answered from one of the two papers alone (its
    background sentence, a real chat of contrastive recommenders); it asks the same of each, so each gets a line.
    "Which of the first two ..." still leads with the one that matches."""
    listing = [{"role": "user", "content": "Which papers reduce hallucination?"},
               {"role": "assistant", "content": "- OPERA: penalizes over-trust [1]\n- VCD: contrasts inputs [2]\n"
                                                "- MaxSup: suppresses the max logit [3]"}]  # fmt: skip
    _, final, _ = answer("how do the first two reduce hallucination?", PAPERS, history=listing)
    lines = final.text.splitlines()
    assert sorted(line.split(":")[0] for line in lines) == ["- OPERA", "- VCD"]
    assert {c.paper.title for c in final.citations} == {OPERA.title, VCD.title}
    assert_faithful(final)
    from rag.answer.compose.referents import asks_of_each

    assert asks_of_each("how do the first two reduce hallucination?")
    assert not asks_of_each("which of the first two needs no training?")  # picks among them
    assert not asks_of_each("do any of the first three use RL?")
    _, final, _ = answer("which of the first two needs no training?", PAPERS, history=listing)
    assert "OPERA needs no additional data or training. [1]" in final.text.split("\n")[0]


def test_a_named_paper_no_retrieved_abstract_is_gets_a_not_stated_note() -> None:
    """A reviewer's "What does the ResNet paper say about residual connections?" was answered with quotes of a paper
    that only mentions ResNets, and "What does 'Attention is all you need' propose?" with an attention-sink paper's:
    the note now says the named paper is not among the retrieved abstracts, before the closest evidence."""
    from rag.answer.compose.absent import unowned_paper

    untrainable = make_paper("Training the Untrainable: Guidance for Plain Networks",
                             "Guidance makes plain CNNs competitive to ResNets. We study residual connections.")
    tabpfn = make_paper("TabPFN: A Transformer That Solves Small Tabular Classification Problems",
                        "We present TabPFN, a trained Transformer for tabular data.")

    def hits(question: str, *papers: Paper) -> Retrieved:
        return Retrieved(question, make_hits(question, papers, HashEmbedder()), 0.9, False)

    resnet = "What does the ResNet paper say about residual connections?"
    assert unowned_paper(resnet, hits(resnet, untrainable, tabpfn)) == "ResNet paper"
    assert unowned_paper("what did the original TabPFN paper find?", hits("q", untrainable, tabpfn)) == ""
    assert unowned_paper("original LoRA paper, how many parameters?", hits("q", tabpfn)) == "LoRA paper"
    assert unowned_paper("What did Hinton's paper find?", hits("q", tabpfn)) == ""  # a person, not a method
    quoted = "What does 'Attention is all you need' propose?"
    assert unowned_paper(quoted, hits(quoted, tabpfn)) == 'paper "Attention is all you need"'
    assert unowned_paper("What does 'A Transformer That Solves Small Tabular' find?", hits("q", tabpfn)) == ""
    assert unowned_paper("what does 'a trained Transformer for tabular data' mean?", hits("q", tabpfn)) == ""
    _, final, _ = answer(resnet, [untrainable, tabpfn])
    note = "The ResNet paper itself is not among the retrieved abstracts, so what it says is not stated"
    assert final.text.startswith(note) and final.not_stated is not None and final.citations
    assert_faithful(final)
    _, final, _ = answer("What does the TabPFN paper propose?", [untrainable, tabpfn])
    assert final.not_stated is None and final.citations[0].paper.title == tabpfn.title
