"""A new question typed in lower case is not read as a follow-up, and "what about X?" asks the last question of X
(``rag.answer.compose.followup``)."""

from __future__ import annotations

import pytest

from rag.answer.compose.followup import coined_subject, referents, resolve_followup, restated, stands_alone
from tests.test_answer import answer
from tests.test_compose import OPERA, PAPERS, VCD


def _chat(question: str, answer: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]


TIES = _chat("What is TIES-Merging?", "TIES-Merging introduces three novel steps when merging models (TrIm, Elect "
             "Sign & Merge). [1]")


def _is_name(word: str) -> bool:  # the corpus's test (rag.retrieve.names): these name papers
    return word in {"sparsemax", "tabpfn"}


@pytest.mark.parametrize(
    "question", ["What is sparsemax?", "what is tabpfn", "Explain sparsemax.", "What is sparsemax used for?"],
)  # fmt: skip
def test_a_definition_of_a_lower_case_name_stands_alone(question: str) -> None:
    assert coined_subject(question, _is_name)
    assert stands_alone(question, _is_name)
    assert resolve_followup(question, TIES, _is_name) == question
    assert not coined_subject(question)  # without the corpus no lower-case word is a name


@pytest.mark.parametrize(
    "question", ["what is the speedup?", "What is attention?", "What is it?", "what is novel?",
                 "What are their limitations?", "what is its size?", "what is speedup?", "explain distillation"],
)  # fmt: skip
def test_a_definition_of_an_ordinary_word_or_a_pointer_is_still_a_follow_up(question: str) -> None:
    assert coined_subject(question, _is_name) == []
    assert resolve_followup(question, TIES, _is_name) != question


def test_what_about_asks_the_last_question_of_another_subject() -> None:
    speed = _chat("What is the speed-up of SeerAttention-R?", "Up to 9x over FlashAttention-3. [1]")
    assert resolve_followup("What about sparsemax?", speed, _is_name) == "What is the speed-up of sparsemax?"
    for topic in ("the speedup", "latency", "the baselines", "throughput", "its sparsemax variant"):  # the same paper
        assert "SeerAttention-R" in resolve_followup(f"what about {topic}?", speed, _is_name), topic
    training = _chat("Does TIES-Merging need training?", "No. [1]")
    assert resolve_followup("And what about DIMAT?", training) == "Does DIMAT need training?"
    maxsup = _chat("What is MaxSup?", "MaxSup … [1]")
    assert resolve_followup("What about sparsemax?", maxsup, _is_name) == "What is sparsemax?"
    # no other subject named: the same subject, another aspect
    assert "MaxSup" in resolve_followup("what about training cost?", maxsup)


def test_a_lower_case_question_after_a_chat_is_answered_from_its_own_paper(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The reviewer's chat: "What is sparsemax?" after TIES-Merging quoted TIES-Merging and cited it alone."""
    first = real_pipeline.ask("What is TIES-Merging?", answerer="extractive")
    history = _chat("What is TIES-Merging?", first.text)
    final = real_pipeline.ask("What is sparsemax?", history=history, answerer="extractive")
    titles = [c.paper.title for c in final.citations]
    assert titles and "Sparsemax" in titles[0]
    assert not any("Merging" in t for t in titles)


def test_compare_the_first_two_compares_only_the_two_pointed_at(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The reviewer's chat: after "Which papers use LoRA?" (LoFiT, IAPT), "Compare the first two" gave three lines,
    the first for LoRA-BAM, which the carried word "LoRA" named and the last answer never cited."""
    first = real_pipeline.ask("Which papers use LoRA?", answerer="extractive")
    cited = [c.paper.title for c in first.citations][:2]
    history = _chat("Which papers use LoRA?", first.text)
    final = real_pipeline.ask("Compare the first two", history=history, answerer="extractive")
    assert [c.paper.title for c in final.citations] == cited, final.text


def test_earlier_questions_typed_in_lower_case_are_read_with_their_names_cased(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The reviewer's "dimat vs ties-merging" then "which one needs training?": the earlier question named no paper
    (its names were lower case), so the follow-up's query read "dimat vs ties-merging" as plain words."""
    first = real_pipeline.ask("dimat vs ties-merging", answerer="extractive")
    final = real_pipeline.ask("which one needs training?", history=_chat("dimat vs ties-merging", first.text),
                              answerer="extractive")
    assert final.standalone_question.startswith("DIMAT vs TIES-Merging"), final.standalone_question


def test_a_correction_naming_the_meant_papers_title_is_answered_from_it(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The reviewer's "no, I meant the on-policy self-judgment paper" after two CREAM answers was refused."""
    history: list[dict[str, str]] = []
    for question in ("CREAM self rewarding", "what size LLMs did they test"):
        history += _chat(question, real_pipeline.ask(question, history=history, answerer="extractive").text)
    final = real_pipeline.ask("no, I meant the on-policy self-judgment paper", history=history, answerer="extractive")
    assert [c.paper.title for c in final.citations][:1] == [
        "Aligning Large Language Models by On-Policy Self-Judgment"], final.text


def test_only_a_correction_with_title_words_names_its_paper() -> None:
    from rag.answer.compose.followup import corrects_to
    from rag.types import Hit, Paper, Retrieved

    papers = [Paper("p1", "CREAM: Consistency Regularized Self-Rewarding",
                    "We propose CREAM, which leverages the rewarding consistency."),
              Paper("p2", "Aligning Large Language Models by On-Policy Self-Judgment", "b")]
    retrieved = Retrieved("q", tuple(Hit(p, 0.3, "s", 0, 0.3) for p in papers), 0.3, True)
    assert corrects_to("no, I meant the on-policy self-judgment paper", retrieved) == 1
    assert corrects_to("the on-policy self-judgment paper", retrieved) is None  # no correction
    assert corrects_to("no, I meant the other one", retrieved) is None  # names no title
    assert corrects_to("no, I meant the diffusion paper on proteins", retrieved) is None  # in no title
    cream = _chat("What is CREAM?", "We propose CREAM, which leverages the rewarding consistency. [1]")
    assert corrects_to("no, I meant the consistency regularized paper", retrieved, cream) is None  # the ruled out



@pytest.mark.parametrize(("first", "then", "title"), [
    ("What does MaxSup penalize?", "what about its pitfalls?", "MaxSup"),
    ("How does WINA work?", "what about sparsification?", "WINA"),
])  # fmt: skip
def test_what_about_a_title_word_that_names_no_paper_keeps_the_paper(
    real_pipeline, first: str, then: str, title: str  # type: ignore[no-untyped-def]
) -> None:
    """The second regression review: a word in one title's description ("pitfalls", "sparsification") was taken for
    another paper's name, and the paper under discussion was dropped."""
    answer = real_pipeline.ask(first, answerer="extractive")
    final = real_pipeline.ask(then, history=_chat(first, answer.text), answerer="extractive")
    assert title in final.standalone_question, final.standalone_question


def test_what_about_is_the_last_question_asked_of_its_new_subject() -> None:
    """A reviewer's "What is WINA?" then "what about RLHF?" was answered as a lookup of the words "about RLHF"."""
    wina = _chat("What is WINA?", "WINA is a training-free sparse activation framework. [1]")
    assert restated("what about RLHF?", wina) == "What is RLHF?"
    again = [*wina, *_chat("what about RLHF?", "RLHF aligns LLMs with human values. [1]")]
    assert restated("and what about MaxSup?", again) == "What is MaxSup?"  # the chain: what RLHF was asked
    both = _chat("How do TIES-Merging and DIMAT differ?", "TIES-Merging … [1]\nDIMAT … [2]")
    assert restated("what about MaxSup?", both) == ""  # which of the two would it replace?
    assert resolve_followup("what about MaxSup?", both).endswith("what about MaxSup?")
    for aspect in ("its pitfalls", "the speedup", "latency"):  # the same subject, another aspect
        assert restated(f"what about {aspect}?", wina, _is_name) == ""
    assert restated("What is RLHF?", wina) == ""  # no "what about"


@pytest.mark.parametrize(("question", "new"), [
    ("what is in-context learning?", True), ("What is knowledge distillation?", True),
    ("what is the merging step?", False), ("what are sign conflicts?", False), ("what is novel?", False),
    ("what about retrieval heads?", False),  # often in the abstract under discussion, if not in the last answer
])  # fmt: skip
def test_a_definition_of_a_term_the_last_turn_never_used_stands_alone(question: str, new: bool) -> None:
    """"what is in-context learning?" after a chat about TIES-Merging was answered from TIES-Merging; a term of
    the last answer ("sign conflicts"), a pointer ("the merging step") or one ordinary word stays a follow-up."""
    ties = _chat("What is TIES-Merging?", "TIES-Merging resets parameters and resolves sign conflicts. [1]")
    assert (resolve_followup(question, ties, _is_name) == question) is new


def test_what_about_a_new_topic_and_a_new_term_are_answered_on_their_own(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The reviewer's chats: "what about RLHF?" after WINA led with an outcome sentence of an RLHF paper, "what is
    in-context learning?" after TIES-Merging quoted TIES-Merging."""
    wina = real_pipeline.ask("What is WINA?", answerer="extractive")
    rlhf = real_pipeline.ask("what about RLHF?", history=_chat("What is WINA?", wina.text), answerer="extractive")
    assert rlhf.kind == "definition" and not rlhf.abstained
    assert "RLHF" in rlhf.text.split(". ")[0], rlhf.text
    ties = real_pipeline.ask("What is TIES-Merging?", answerer="extractive")
    icl = real_pipeline.ask("what is in-context learning?", history=_chat("What is TIES-Merging?", ties.text),
                            answerer="extractive")
    assert icl.citations and not any("Merging" in c.paper.title for c in icl.citations), icl.text
    assert "in-context learning" in icl.text.split(". ")[0]


def test_what_an_acronym_stands_for_leads_with_its_long_form(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's "what does SAE stand for?" quoted the first paper's results on SAEs; the long form ("Sparse
    Autoencoders (SAE)") was in a sentence beyond the ten best and in a paper other than the first."""
    answer = real_pipeline.ask("what does SAE stand for?", answerer="extractive")
    assert "sparse autoencoders (sae" in answer.text.split(". ")[0].lower(), answer.text


def test_and_another_name_asks_the_last_question_of_it() -> None:
    """A reviewer's "what is sparsemax" then "and mixout?" interleaved both papers, led by sparsemax."""
    sparsemax = _chat("what is sparsemax", "We propose sparsemax, a new activation function. [1]")
    assert resolve_followup("and mixout?", sparsemax, lambda w: w in {"sparsemax", "mixout"}) == "what is mixout"
    assert restated("and its speedup?", sparsemax, _is_name) == ""  # the same paper
    assert restated("and on GSM8K?", sparsemax, _is_name) == ""  # a detail, not another subject


@pytest.mark.parametrize(("question", "rest"), [
    ("Switching topics: what is SPLADE?", "what is SPLADE?"), ("never mind, what is the speedup of X?",
     "what is the speedup of X?"), ("Different question - how does WINA work?", "how does WINA work?"),
    ("switching topics what is SPLADE?", "what is SPLADE?"), ("Unrelated tasks interfere?", None),
    ("new question", None), ("moving on.", None),
])  # fmt: skip
def test_a_topic_switch_opener_is_not_part_of_the_question(question: str, rest: str | None) -> None:
    from rag.answer.compose.followup import without_switch

    assert without_switch(question) == (rest or question)
    assert resolve_followup(question, TIES) == (rest or resolve_followup(question, TIES))


def test_a_paper_named_after_a_topic_switch_is_answered(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's "Switching topics: what is SPLADE?" was refused, alone or in a chat, while "what is SPLADE?" was
    answered (the opener's words made it more than a question of the paper's name)."""
    for history in ([], TIES):
        answer = real_pipeline.ask("Switching topics: what is SPLADE?", history=history, answerer="extractive")
        assert not answer.abstained and "SPLADE" in answer.citations[0].paper.title, answer.text


def test_which_one_after_two_papers_picks_among_them() -> None:
    """A reviewer's "dimat vs ties-merging" then "which one needs no additional training?" searched afresh (four
    content words read as a new question) and quoted an unrelated paper; after one paper's answer it still does."""
    two = _chat("DIMAT vs TIES-Merging", "- DIMAT: DIMAT merges models. [1]\n- TIES-Merging: merges models. [2]")
    final = resolve_followup("which one needs no additional training?", two)
    assert "DIMAT" in final and "TIES-Merging" in final, final
    one = _chat("What is CREAM?", "We propose CREAM. [1]")
    assert resolve_followup("which one uses copyright traps?", one) == "which one uses copyright traps?"


def test_which_one_after_a_comparison_answers_from_the_compared_papers(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    first = real_pipeline.ask("mindeye vs mindbridge", answerer="extractive")
    final = real_pipeline.ask("which one works across subjects?", history=_chat("mindeye vs mindbridge", first.text),
                              answerer="extractive")
    assert not final.abstained and final.citations[0].paper.title.startswith("MindBridge"), final.text


def test_a_short_follow_up_without_its_subject_is_about_the_one_paper_just_cited() -> None:
    """A reviewer's "what benchmarks?" after T-REG and "on which benchmark?" after SPaR each added another paper's "10
    out of 13 benchmarks" as [2]: with no pronoun, the question pointed at no source of the last answer."""
    from rag.answer.compose.followup import referents

    treg = _chat("What is T-REG?", "In this paper, we propose token-level reward regularization (T-REG). [1]")
    assert len(referents("what benchmarks?", treg)) == 1
    assert len(referents("how fast?", treg)) == 1
    assert referents("any other papers on this?", treg) == []  # beyond the last answer
    assert referents("what benchmarks did DIMAT use?", treg) == []  # names its own subject
    two = _chat("DIMAT vs TIES-Merging", "- DIMAT: merges. [1]\n- TIES-Merging: merges. [2]")
    assert referents("what benchmarks?", two) == []  # which of the two?


def test_the_regression_review_of_the_new_follow_up_rules() -> None:
    """A second reviewer compared this morning's code with the new rules on ~470 inputs: a short question naming a
    new subject was tied to the last paper, "which one" after a list was forced onto the listed papers, and "never
    mind, how is it trained?" lost the paper its pronoun stands for."""
    from rag.answer.compose.followup import referents, without_switch

    splade = _chat("What is SPLADE?", "In this work, we present a new first-stage ranker. [1]")
    for question in ("what is sparsemax?", "how does mixout work?", "whats mixout"):
        assert referents(question, splade) == [], question  # a new subject, not SPLADE's
    for question in ("what benchmarks?", "on which hardware?", "why?", "how much memory?"):
        assert len(referents(question, splade)) == 1, question
    listed = _chat("List papers on membership inference", "- A: x. [1]\n- B: y. [2]\n- C: z. [3]")
    assert resolve_followup("which one uses copyright traps?", listed) == "which one uses copyright traps?"
    for question in ("never mind, how is it trained?", "ok, and how is it evaluated?", "ok, and what datasets?"):
        assert without_switch(question) == question, question


def test_a_short_hardware_follow_up_finds_the_sentence_naming_the_device(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The regression review's "What is CoreInfer?" then "on which hardware?": the NVIDIA TITAN XP sentence shares no
    word with the question and ranked below the ten sentences the answer is cut from."""
    first = real_pipeline.ask("What is CoreInfer?", answerer="extractive")
    final = real_pipeline.ask("on which hardware?", history=_chat("What is CoreInfer?", first.text),
                              answerer="extractive")
    assert "TITAN XP" in final.text.split(". ")[0], final.text


def test_and_another_term_after_a_definition_asks_for_its_definition() -> None:
    """The second regression review: "What does early dropout mean?" then "and late dropout?" quoted an unrelated
    paper; it asks what late dropout means. An aspect of a named paper is no term to swap."""
    early = _chat("What does early dropout mean?", "early dropout: dropout is applied only early. [1]")
    assert restated("and late dropout?", early) == "What does late dropout mean?"
    assert restated("what about the speedup?", _chat("What is the Mamba-2-Hybrid?", "x [1]")) == ""
    assert restated("and late dropout?", _chat("What is the speed-up of MaxSup?", "x [1]")) == ""


def test_a_short_question_naming_only_what_papers_mention_follows_the_chat() -> None:
    """A reviewer's chats: "how many fewer params than lora" after LoFiT, "MMLU gain?" after Read-ME, "numbers for
    T5?" after the lazy-neuron paper were read as new questions (a name before any pronoun) and refused."""
    owned = {"lofit", "dimat", "read-me"}.__contains__

    def names_paper(name: str) -> bool:
        return owned(name.lower())

    for question in ("how many fewer params than LoRA", "MMLU gain?", "numbers for T5?"):
        assert not stands_alone(question, names_paper=names_paper), question
        assert stands_alone(question), question  # without the corpus every name may be a paper's
    assert stands_alone("DIMAT speedup?", names_paper=names_paper)  # a paper's own name
    assert stands_alone("which one decodes fMRI?", names_paper=names_paper)  # after a list: afresh (_picks_among)
    assert stands_alone("What accuracy do sparse mixture models reach on MMLU overall?", names_paper=names_paper)


def test_chat_follow_ups_naming_a_benchmark_or_baseline_are_answered(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    first = real_pipeline.ask("What is LoFiT?", answerer="extractive")
    final = real_pipeline.ask("how many fewer params than lora", history=_chat("What is LoFiT?", first.text),
                              answerer="extractive")
    assert not final.abstained and "20x-200x fewer parameters" in final.text, final.text
    readme = real_pipeline.ask("What does Read-ME do?", answerer="extractive")
    gain = real_pipeline.ask("MMLU gain?", history=_chat("What does Read-ME do?", readme.text), answerer="extractive")
    assert not gain.abstained and "10.1% on MMLU" in gain.text, gain.text
    assert real_pipeline.retriever.owned_name("LoFiT") and not real_pipeline.retriever.owned_name("MMLU")


@pytest.mark.parametrize(
    ("last", "question", "restatement"),
    [("What is OPERA?", "how does it compare to SENTINEL?", "How does OPERA compare to SENTINEL?"),
     ("tell me more about TIES-Merging", "How does it differ from DIMAT?", "How does TIES-Merging compare to DIMAT?"),
     ("what is TabPFN?", "compare it with T-JEPA", "How does TabPFN compare to T-JEPA?"),
     ("What is OPERA?", "is it better than SENTINEL?", "How does OPERA compare to SENTINEL?"),
     ("what is T-REG?", "how does it stack up against DPO?", "How does T-REG compare to DPO?")],
)  # fmt: skip
def test_how_does_it_compare_to_x_compares_the_paper_under_discussion_with_x(
    last: str, question: str, restatement: str
) -> None:
    history = [{"role": "user", "content": last}, {"role": "assistant", "content": "It does things. [1]"}]
    assert restated(question, history) == restatement
    assert resolve_followup(question, history) == restatement


@pytest.mark.parametrize(
    "question",
    ["how does it compare to the baseline?",  # no subject: the same paper's aspect
     "how does it compare to OPERA?",  # the one subject the last question named is the other side
     "what does it compare against?"],
)  # fmt: skip
def test_compare_to_without_another_subject_is_no_comparison_of_two(question: str) -> None:
    history = [{"role": "user", "content": "What is OPERA?"}, {"role": "assistant", "content": "It does. [1]"}]
    assert restated(question, history) == ""


def test_it_is_a_paper_name_not_a_topic_word_of_the_last_question() -> None:
    """The second regression check: after "Which papers accelerate LLM inference?" listed one paper, "how does it
    compare to WINA?" was restated as "How does LLMs compare to WINA?"."""
    history = [{"role": "user", "content": "Which papers accelerate LLMs with sparse activations?"},
               {"role": "assistant", "content": "- CHESS: CHESS thresholds channels. [1]"}]
    owned = {"chess", "wina"}.__contains__
    assert restated("how does it compare to WINA?", history, names_paper=lambda n: owned(n.lower())) == (
        "How does CHESS compare to WINA?")  # the paper the answer names, not "LLMs"
    ties = [{"role": "user", "content": "What is TIES-Merging?"},
            {"role": "assistant", "content": "We propose our method, TrIm, Elect Sign & Merge (TIES-Merging). [1]"}]
    assert restated("how does it compare to DIMAT?", ties, names_paper=lambda n: n == "DIMAT") == (
        "How does TIES-Merging compare to DIMAT?")  # no title names it, but the answer proposes it


def test_it_is_a_coined_name_not_a_word_of_a_longer_one() -> None:
    """The third regression check: "What is Activation Beacon?" then "it vs SeerAttention-R" was restated as "How
    does Beacon compare to SeerAttention-R?", which was refused."""
    history = _chat("What is Activation Beacon?", "Activation Beacon condenses activations. [1]")
    assert restated("it vs SeerAttention-R", history, names_paper=lambda n: True) == ""


def test_it_after_a_list_is_no_subject_to_compare() -> None:
    """A regression check's chat: "Which papers accelerate LLM inference with activation sparsity?" then "how does it
    compare to CoreInfer?" was restated as "how does LLM compare to CoreInfer?"."""
    listing = "- WINA: WINA is fast [1]\n- CHESS: CHESS is sparse [2]"
    history = [{"role": "user", "content": "Which papers accelerate LLM inference with activation sparsity?"},
               {"role": "assistant", "content": listing}]
    assert restated("how does it compare to CoreInfer?", history) == ""


def test_the_name_of_it_comes_from_the_last_answer_when_the_last_question_named_none() -> None:
    answer = "Finally, CHESS has sparse kernels. [1] The proposed CHESS beats MMLU baselines by 2 points. [1]"
    history = [{"role": "user", "content": "tell me more about the second one"},
               {"role": "assistant", "content": answer}]
    owned = {"chess", "wina"}.__contains__
    assert restated("how does it compare to WINA?", history, names_paper=lambda n: owned(n.lower())) == (
        "How does CHESS compare to WINA?")
    two = "CHESS has kernels [1]; WINA has weights [2]."
    history[1]["content"] = two  # two papers cited: which one is "it"?
    assert restated("how does it compare to WINA?", history, names_paper=lambda n: owned(n.lower())) == ""


def test_how_does_it_compare_to_x_is_answered_with_both_papers(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    first = real_pipeline.ask("What is OPERA?", answerer="extractive")
    history = [{"role": "user", "content": "What is OPERA?"}, {"role": "assistant", "content": first.text}]
    final = real_pipeline.ask("how does it compare to SENTINEL?", history=history, answerer="extractive")
    assert final.kind == "comparison" and not final.not_stated
    titles = {c.paper.title for c in final.citations}
    assert any(t.startswith("OPERA") for t in titles) and any("Sentence-Level Early Intervention" in t for t in titles)


def test_go_back_to_the_first_paper_points_into_the_list_before_the_last_answer() -> None:
    listing = ("- MindBridge: MindBridge decodes across subjects. [1]\n"
               "- MindEye: MindEye retrieves and reconstructs images. [2]")
    history = [*_chat("Which papers decode images from fMRI?", listing),
               *_chat("tell me more about the second one", "MindEye maps fMRI to CLIP space. [1]")]
    back = referents("go back to the first paper", history)
    assert len(back) == 1 and "MindBridge" in back[0].texts[0]
    assert "MindEye maps" in referents("what about the first paper?", history)[0].texts[0]  # the last answer's


def test_go_back_to_the_first_paper_is_answered_from_it(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's chat: after a list and "tell me more about the second one", "go back to the first paper" was
    answered from the second one again."""
    history: list[dict[str, str]] = []
    for question in ("Which papers use mixture of experts?", "tell me more about the third one"):
        answer = real_pipeline.ask(question, history=history, answerer="extractive")
        history += _chat(question, answer.text)
    first = real_pipeline.ask("Which papers use mixture of experts?", answerer="extractive").citations[0].paper.title
    final = real_pipeline.ask("go back to the first paper", history=history, answerer="extractive")
    assert final.citations and final.citations[0].paper.title == first


def test_the_name_one_points_at_the_listed_source_that_names_it() -> None:
    """A reviewer's "What does the PolyCom one claim?" after a list naming PolyCom's paper second was refused: the
    follow-up carried the first paper's title words."""
    listed = ("- Wide and Deep Neural Networks: we provide explicit activation functions. [1]\n"
              "- Polynomial Composition Activations: By substituting conventional activation functions with PolyCom, "
              "we enable LLMs to capture interactions. [2]\n"
              "- Sparsing Law: activation sparsity grows with data. [3]")
    history = [{"role": "user", "content": "Which papers propose new activation functions?"},
               {"role": "assistant", "content": listed}]
    assert [c.marker for c in referents("What does the PolyCom one claim?", history)] == [2]
    assert [c.marker for c in referents("and the one that uses sparsity?", history)] == [3]
    assert "PolyCom" in resolve_followup("What does the PolyCom one claim?", history)
    assert referents("What does the other one claim?", history) == []
    assert referents("What does the DIMAT one claim?", history) == []  # no source names it


def test_the_name_one_is_answered_from_its_paper(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    first = real_pipeline.ask("Which papers propose new activation functions?", answerer="extractive")
    history = [{"role": "user", "content": "Which papers propose new activation functions?"},
               {"role": "assistant", "content": first.text}]
    final = real_pipeline.ask("What does the PolyCom one claim?", history, answerer="extractive")
    assert final.citations and final.citations[0].paper.title.startswith("Polynomial Composition"), final.text


def test_how_a_new_lower_case_term_works_is_a_new_question(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The last closing note's known miss: "how does early dropout work?" after "What is mixout?" (whose answer says
    mixout is "motivated by dropout") was condensed to "mixout how does early dropout work?" and led with mixout. A
    term of two words the last turn never used as a phrase starts a new question, and the piece naming it leads."""
    from rag.answer.compose.followup import asks_new_term

    mixout = _chat("What is mixout?", "we introduce a new regularization technique, mixout, motivated by dropout. [1]")
    assert asks_new_term("how does early dropout work?", mixout)
    assert not asks_new_term("how does mixout work?", mixout)  # one word: left to the name rules
    assert not asks_new_term("how does it work?", mixout)
    assert not asks_new_term("how does weight decay work?", _chat("What is AdamW?", "It decouples weight decay. [1]"))
    assert not asks_new_term("what is in-context learning?", _chat("What is X?", "X helps in context learning. [1]"))
    first = real_pipeline.ask("What is mixout?", answerer="extractive")
    final = real_pipeline.ask("how does early dropout work?", history=_chat("What is mixout?", first.text),
                              answerer="extractive")
    lead = final.text.split(". [")[0]
    assert "early dropout" in lead and "mixout" not in final.text.lower(), final.text


def test_a_pointer_after_a_follow_up_keeps_the_papers_name() -> None:
    """A third turn pointing at the paper ("what license is it under?" after "What is TabPFN?" and "does it handle
    missing values?") carried only the words the last answer quoted, which did not name TabPFN, so the answer lost
    its subject and quoted look-alikes instead of saying the license is not stated. The question that found the
    paper now comes along."""
    history = [*_chat("What is TabPFN?", "TabPFN is a Prior-Data Fitted Network. [1]"),
               *_chat("does it handle missing values?", "up to 100 purely numerical features without missing "
                                                       "values. [1]")]
    standalone = resolve_followup("what license is it under?", history)
    assert "TabPFN" in standalone and "missing" in standalone, standalone


def test_a_third_turn_about_a_detail_the_abstract_omits_says_so(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    history: list[dict[str, str]] = []
    for question in ("What is TabPFN?", "does it handle missing values?"):
        answer = real_pipeline.ask(question, history=history, answerer="extractive")
        history += _chat(question, answer.text)
    final = real_pipeline.ask("what license is it under?", history=history, answerer="extractive")
    assert final.text.startswith("The TabPFN abstract does not state the license"), final.text


def test_they_after_an_answer_from_one_paper_are_its_authors() -> None:
    """"what GPU did they use?" after an answer that cites one paper points at it when the abstention model doubts
    the question (``authors_pointer``); after a list "they" picks none of the papers by itself. The query and the
    quotes keep ``referents``, which reads "they" so only when the authors compare."""
    from rag.answer.compose.followup import authors_pointer, referents

    one = _chat("What is CoreInfer?", "CoreInfer is an MLP-free adaptive sparse activation method. [1]")
    assert [c.marker for c in authors_pointer("what GPU did they use?", one)] == [1]
    assert referents("what GPU did they use?", one) == []
    assert [c.marker for c in referents("What baselines do they compare against?", one)] == [1]
    listed = _chat("Which papers prune LLMs?", "- A: x. [1]\n- B: y. [2]")
    assert authors_pointer("what GPU did they use?", listed) == []
    assert authors_pointer("no, I meant the other one - what GPU did they use?", one) == []


def test_the_first_question_is_the_topic_when_no_later_one_stands_alone() -> None:
    """A third turn after "how does it work?" carried nothing: the chat's first question ("What criterion predicts
    that a test instance is hard ...?") reads "that" as a pointer, so no earlier question stood alone."""
    history = [*_chat("What criterion predicts that a test instance is hard for compositional generalization?",
                      "- A: x. [1]\n- B: y. [2]"),
               *_chat("how does it work?", "- A: we show local structures matter. [1]\n- B: z. [2]")]
    standalone = resolve_followup("what GPU did they use?", history)
    assert "compositional" in standalone and "generalization" in standalone, standalone


def test_a_doubted_follow_up_about_the_chats_paper_says_what_is_not_stated(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """Three-turn chats asking "what GPU did they use?" were refused ("The corpus does not cover this question.")
    when the abstention model doubted the carried query, although the chat had found the paper: 9 of 45 probed
    chats. Now the paper the question points at answers, here that its abstract does not state the GPU."""
    history: list[dict[str, str]] = []
    for question in ("How large is the Corr2Cause dataset and how well do LLMs do on it?", "how does it work?"):
        answer = real_pipeline.ask(question, history=history, answerer="extractive")
        history += _chat(question, answer.text)
    final = real_pipeline.ask("what GPU did they use?", history=history, answerer="extractive")
    assert final.text.split("\n")[0].endswith("does not state the GPU. [1]"), final.text


def test_a_doubted_follow_up_is_rescued_only_for_one_pointed_paper_above_the_floor() -> None:
    """``doubted_pointer``: the confidence floor is inclusive; several papers pointed at, an empty history, a last
    answer that cites nothing, a question that stands alone or a retrieval the model does not doubt rescue nothing."""
    from conftest import make_paper

    from rag.answer.compose.followup import doubted_pointer
    from rag.types import Hit, Retrieved

    a = make_paper("CoreInfer: Sparse Activation", "CoreInfer predicts core neurons once per sentence.")
    b = make_paper("WINA: Weight Informed Activation", "WINA sparsifies activations without training.")
    hits = tuple(Hit(p, 0.5, p.abstract, 0, 0.5) for p in (a, b))
    one = _chat("What is CoreInfer?", "CoreInfer predicts core neurons once per sentence. [1]")
    both = _chat("Which papers sparsify activations?", "- CoreInfer: CoreInfer predicts core neurons once per "
                 "sentence. [1]\n- WINA: WINA sparsifies activations without training. [2]")

    def rescued(question: str, history: list[dict[str, str]], confidence: float = 0.1, abstain: bool = True) -> bool:
        return doubted_pointer(question, Retrieved(question, hits, confidence, abstain), history, 0.1)

    assert rescued("what GPU did they use?", one) and rescued("which GPU does it run on?", one)
    assert not rescued("what GPU did they use?", one, confidence=0.09)
    assert not rescued("what GPU did they use?", one, abstain=False)  # nothing to rescue
    assert not rescued("which of them is from Google?", both)
    assert not rescued("what GPU did they use?", [])
    refused = _chat("What is CoreInfer?", "The corpus does not cover this question.")
    assert not rescued("what GPU did they use?", refused)
    assert not rescued("What do LLMs learn when they are trained on code?", one)


def _attention_regularizers():  # type: ignore[no-untyped-def]
    """Two listed attention regularizers (only EAR says "Italian"), a paper the list did not hold that says it too,
    and the chat that listed the two."""
    from conftest import make_paper

    ear = make_paper("Entropy-based Attention Regularization", "EAR penalizes low attention entropy. It is one of "
                     "the first such methods, tested on data in English and Italian.")
    at = make_paper("Attention Meets Perturbations", "We propose adversarial training for attention, tested on "
                    "English data.")
    other = make_paper("Selective Ensembles", "Ensembles of models trained on Italian tweets.")
    listed = _chat("which papers regularize the attention mechanism?", "- Entropy-based Attention Regularization: "
                   "EAR penalizes low attention entropy [1].\n- Attention Meets Perturbations: It proposes adversarial "
                   "training for attention [2].")
    return ear, at, other, listed


def test_a_doubted_which_one_after_a_list_is_answered_when_its_words_pick_the_first_hit() -> None:
    """``picked_by_its_words``: "which one was tested on italian data?" after a list of attention regularizers was
    refused (confidence 0.02) though its first hit, a listed paper, alone says "English and Italian". A word no hit
    has ("Google", "Spanish"), a negation, a first hit that was not listed, or no "which one" rescue nothing."""
    from rag.answer.compose.followup import picked_by_its_words, rescued
    from rag.types import Hit, Retrieved

    ear, at, other, listed = _attention_regularizers()

    def picked(question: str, papers: tuple[object, ...], history: list[dict[str, str]] = listed) -> bool:
        hits = tuple(Hit(p, 0.5, p.abstract, 0, 0.5) for p in papers)  # type: ignore[arg-type]
        return picked_by_its_words(question, Retrieved(question, hits, 0.02, True), history)

    assert picked("which one was tested on italian data?", (ear, at))
    assert picked("which of them was tested on italian data?", (ear, other))  # "other" was not listed
    assert not picked("which one is from Google?", (ear, at))  # no listed abstract says so
    assert not picked("which one was tested on english data?", (ear, at))  # both say English
    assert not picked("which one was tested on italian data?", (other, ear))  # its first hit was not listed
    assert not picked("was it tested on italian data?", (ear, at))  # picks no paper among the listed
    assert not picked("which one was not tested on italian data?", (ear, at))  # picks by what it lacks
    assert not picked("which one was tested on italian and spanish data?", (ear, at))  # no hit has "spanish"
    assert not picked("which one is from Google?", (ear, at))  # the "one" of "which one" is no word of its own
    shown = _chat("which papers regularize the attention mechanism?", "- Entropy-based Attention Regularization: "
                  "It is one of the first such methods, tested on data in English and Italian [1].\n- Attention Meets "
                  "Perturbations: It is tested on English data [2].")
    assert picked("which of them was tested on italian data?", (ear, at), shown)  # a word the list answer showed
    hits = tuple(Hit(p, 0.5, p.abstract, 0, 0.5) for p in (ear, at))
    question = "which one was tested on italian data?"
    assert rescued(question, Retrieved(question, hits, 0.02, True), listed, 0.1)


def test_which_one_after_a_list_moves_the_listed_paper_its_words_pick_first() -> None:
    """``listed_first``: after a list of judge papers a reviewer's "which one handles multiple modalities?" was
    answered from a paper the list did not hold, though a listed one alone said "modalities"."""
    from rag.answer.compose.followup import listed_first
    from rag.types import Hit, Retrieved

    ear, at, other, listed = _attention_regularizers()

    def first(question: str, papers: tuple[object, ...]) -> str:
        hits = tuple(Hit(p, 0.5, p.abstract, 0, 0.5) for p in papers)  # type: ignore[arg-type]
        return listed_first(question, Retrieved(question, hits, 0.5, False), listed).hits[0].paper.title

    assert first("which one was tested on italian data?", (other, at, ear)) == ear.title
    assert first("which one was tested on english data?", (other, at, ear)) == other.title  # both listed say so
    assert first("which one was not tested on italian data?", (other, at, ear)) == other.title  # by what it lacks
    assert first("what was tested on italian data?", (other, at, ear)) == other.title  # picks among no list
    assert first("which one was tested on italian data?", (at, ear, other)) == at.title  # a listed paper is first


def test_which_one_after_a_list_answers_from_the_listed_paper_its_words_pick(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    history = _chat("which papers regularize the attention mechanism?", "- Entropy-based Attention Regularization "
                    "Frees Unintended Bias Mitigation from Lists: It proposes a knowledge-free Entropy-based Attention "
                    "Regularization (EAR) [1].\n- Attention Meets Perturbations: Robust and Interpretable Attention "
                    "with Adversarial Training: It proposes adversarial training for attention [2].")
    final = real_pipeline.ask("which one was tested on italian data?", history, answerer="extractive")
    assert not final.abstained and "English and Italian" in final.text, final.text
    assert final.citations[0].paper.title.startswith("Entropy-based Attention Regularization")


def test_which_one_after_a_real_list_answers_from_the_listed_paper(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's chat: "which one handles multiple modalities?" after "papers on LLM-as-a-judge" (Flex-Judge
    listed) was answered from SkillNet; "which of them are training-free?" after a list showing WINA was refused."""
    for first, then, title in [("papers on LLM-as-a-judge", "which one handles multiple modalities?", "Flex-Judge"),
                               ("papers on activation sparsity for faster llm inference",
                                "which of them are training-free?", "WINA")]:
        listed = real_pipeline.ask(first, answerer="extractive")
        history = [{"role": "user", "content": first}, {"role": "assistant", "content": listed.text}]
        final = real_pipeline.ask(then, history, answerer="extractive")
        assert not final.abstained and final.citations[0].paper.title.startswith(title), final.text


def test_an_answer_written_markers_first_gives_each_source_the_text_after_its_marker() -> None:
    """comp2_fit's hand-written histories read "A few: [1] OPERA penalizes ... [2] SENTINEL trains ...": each text
    went to the marker before it ([1] got "A few:"), so "which of them ..." mapped no paper."""
    from rag.answer.compose.cited import cited_sources

    answer = ("There are a few approaches: [1] OPERA is a decoding method that adds an over-trust penalty. "
              "[2] VCD contrasts output distributions from original and distorted visual inputs.")
    assert [(c.marker, c.texts) for c in cited_sources(answer)] == [
        (1, ("OPERA is a decoding method that adds an over-trust penalty.",)),
        (2, ("VCD contrasts output distributions from original and distorted visual inputs.",))]
    ours = "OPERA adds an over-trust penalty on the beam search scores. [1] VCD reduces hallucination. [2]"
    assert [c.texts for c in cited_sources(ours)] == [("OPERA adds an over-trust penalty on the beam search scores.",),
                                                      ("VCD reduces hallucination.",)]


def test_a_closing_reference_list_labels_each_source_with_its_title() -> None:
    """An answer pasted back with its "Sources:" block gave [2] the text "SeerAttention-R: ... (supported)", a label
    that named [1]'s paper; the list now labels each number with its own title and is no answer text."""
    from rag.answer.compose.cited import cited_sources, refers_to

    answer = ("OPERA needs no additional data or training. [1] VCD reduces hallucination on POPE by 7 points. [2]\n\n"
              f"Sources:\n[1] {OPERA.title} (supported)\n[2] {VCD.title} (supported)")
    first, second = cited_sources(answer)
    assert second.texts == ("VCD reduces hallucination on POPE by 7 points.", f"{VCD.title}:")
    assert refers_to(second, VCD.title, "") and not refers_to(second, OPERA.title, "")
    assert refers_to(first, OPERA.title, "")
    body = "Two lines of an answer. [1]\n[2] is a number it cites"
    assert [c.marker for c in cited_sources(body)] == [1, 2]  # one "[n] ..." line alone is no reference list
    bold = cited_sources(f"OPERA needs no training. [1]\n\n**Sources:**\n- [1] {OPERA.title} [CVPR] (partial support)")
    assert bold[0].texts == ("OPERA needs no training.", f"{OPERA.title} [CVPR]:")


def test_which_of_them_after_a_hand_written_list_answers_from_the_papers_it_cites() -> None:
    """"which of them needs no training?" after a markers-first answer quoting OPERA and VCD is answered from
    those two; when one cited text matches no paper, none is pointed at (the question's own retrieval answers)."""
    from rag.answer.compose.cited import cited_sources
    from rag.answer.compose.referents import pointed_hits

    said = ("Two of them: [1] OPERA is a decoding method that adds an over-trust penalty on the beam search scores. "
            "[2] We introduce VCD, which contrasts output distributions from original and distorted visual inputs.")
    history = [{"role": "user", "content": "Which methods reduce hallucination in multimodal LLMs?"},
               {"role": "assistant", "content": said}]
    _, final, retrieved = answer("which of them needs no training?", PAPERS, history=history)
    assert {c.paper.title for c in final.citations} <= {OPERA.title, VCD.title}, final.text
    assert "OPERA needs no additional data or training" in final.text
    three = said + " [3] A third method the answer only paraphrases, quoted from no abstract."
    cited, chat = cited_sources(three), [history[0], {"role": "assistant", "content": three}]
    assert pointed_hits(cited[:2], retrieved, chat) and not pointed_hits(cited, retrieved, chat)
    ours = "OPERA needs no additional data or training. [1] A paraphrase of a paper not among the hits. [2]"
    assert pointed_hits(cited_sources(ours), retrieved, [history[0], {"role": "assistant", "content": ours}])


def test_long_runs_of_spaces_in_a_history_are_read_in_linear_time() -> None:
    """A reviewer's history line "[2] x" + 1,500 spaces + "]" took 69 s (the reference-list pattern, and the marker
    pattern's leading spaces, retried every space)."""
    import time

    from rag.answer.compose.cited import cited_sources
    from rag.text import strip_markers

    started = time.perf_counter()
    cited_sources("a claim [1]\n[1] x" + " " * 9000 + "]\n[2] y" + " " * 9000 + "(")
    cited_sources("a [1] x" + " " * 9000 + "] b [2]" + " " * 500 + "c")
    assert strip_markers("a claim  [1] next") == "a claim next"
    assert time.perf_counter() - started < 0.5


def test_what_about_a_topic_the_chat_never_touched_drops_the_last_answer() -> None:
    """A reviewer's "and what about token merging for semantic binding, does that need training?" after two turns on
    adaptive guidance carried "adaptive guidance diffusion models CFG" into its query and was answered from that
    paper again; a topic of three or more words no earlier turn used is asked afresh. "What about larger models?"
    stays on the paper under discussion."""
    history = [
        {"role": "user", "content": "how much faster is adaptive guidance for diffusion models?"},
        {"role": "assistant", "content": "Thus, AG constitutes a plug-and-play alternative to Guidance Distillation, "
                                         "achieving 50% of the speed-ups of CFG. [1]"},
        {"role": "user", "content": "does it need training?"},
        {"role": "assistant", "content": "AG is training-free. [1]"},
    ]  # fmt: skip
    asked = resolve_followup("and what about token merging for semantic binding, does that need training?", history)
    assert not {"guidance", "CFG", "AG", "diffusion"} & set(asked.split()), asked
    assert "token merging" in asked
    assert "guidance" in resolve_followup("what about larger models?", history).lower()
    assert "guidance" in resolve_followup("what about its memory cost for long prompts?", history).lower()


@pytest.mark.parametrize(("question", "found"), [
    ("and the artificial text detection one, which model's residual stream?",
     "artificial text detection which model's residual stream?"),
    ("and the one about class collapse - what causes it?", "class collapse what causes it?"),
    ("What about the MoE model, is it open?", "MoE is it open?"),
    ("and the other one, what does it do?", None), ("and the second paper - how fast is it?", None),
    ("the first one: which dataset?", None), ("and the paper, what is it?", None),
    ("and the same method - speed?", None), ("and the induction head paper why is it abrupt?", None),
])  # fmt: skip
def test_a_follow_up_turning_to_a_paper_it_describes_is_read_from_the_description(question: str,
                                                                                 found: str | None) -> None:
    """A reviewer's "and the induction head paper - why is emergence abrupt?" was read as a question about the paper
    under discussion (its words and "it"); a pointer at the last answer's sources ("the second paper - ...") still
    is one."""
    from rag.answer.compose.followup import described_switch, referents

    assert described_switch(question) == (found or question)
    inlp = _chat("How does INLP work?", "- INLP: we present INLP. [1]\n- Linear erasure: a minimax game. [2]")
    if found:
        assert resolve_followup(question, inlp) == found and referents(question, inlp) == []


def test_and_the_described_paper_is_answered_from_that_paper(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """After an answer about INLP, "and the linear adversarial concept erasure paper - what was it evaluated on?" had
    quoted INLP again."""
    first = real_pipeline.ask("How does INLP work?", answerer="extractive")
    final = real_pipeline.ask("and the linear adversarial concept erasure paper - what was it evaluated on?",
                              history=_chat("How does INLP work?", first.text), answerer="extractive")
    assert final.citations[0].paper.title == "Linear Adversarial Concept Erasure", final.text
    assert "binary gender removal" in final.text, final.text
