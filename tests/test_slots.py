"""Answer-first composition on small hand-made papers: the question's slot, the lead piece that fills it,
"does not state" when the paper asked about holds no filler, existence answers, comparisons covering each named
method, and notes that the checker and the metrics treat as notes, not claims."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.citations import check_answer
from rag.answer.compose.definitions import defined_term, defines
from rag.answer.compose.slots import fills, head_noun, slot_of
from rag.answer.compose.stated import names_stated, quantity_stated
from rag.answer.notes import is_note, names_paper, not_stated_sentence
from rag.evals.metrics import answer_units
from rag.text import answer_sentences, markers_in, strip_markers
from tests.conftest import HashEmbedder, make_paper
from tests.test_answer import answer, assert_faithful

SEER = make_paper(
    "SeerAttention-R: Sparse Attention Adaptation for Long Reasoning",
    "We introduce SeerAttention-R, a sparse attention framework specifically tailored for the long decoding of "
    "reasoning models. With a lightweight plug-in gating, SeerAttention-R is flexible and can be easily integrated "
    "into existing pretrained models without modifying the original parameters. We demonstrate that "
    "SeerAttention-R, trained on just 0.4B tokens, maintains near-lossless reasoning accuracy with a 4K token "
    "budget. Using TileLang, we develop a sparse decoding kernel that achieves speedups of up to 9x over "
    "FlashAttention-3 on H100 GPU at 90% sparsity.",
)
TIES = make_paper(
    "TIES-Merging: Resolving Interference When Merging Models",
    "Model merging combines several task-specific models into one multitask model without additional training. "
    "TIES-Merging trims small parameter changes, resolves sign conflicts and merges only aligned parameters. "
    "TIES-Merging outperforms existing merging methods across modalities.",
)
DIMAT = make_paper(
    "Decentralized Iterative Merging-And-Training for Deep Learning Models",
    "We propose a decentralized deep learning framework in which agents train locally and periodically merge "
    "their models with neighbours. DIMAT merges models iteratively and keeps training between merges, which "
    "needs local training on every agent. DIMAT converges faster than baselines with lower communication cost.",
)
SKILL = make_paper(
    "SkillNet: A Sparsely Activated Model for General-Purpose Natural Language Understanding",
    "We present SkillNet, a sparsely activated model whose parameters are organised into skill modules. "
    "For each task only the relevant skills are activated. SkillNet performs better than dense baselines on "
    "eleven natural language understanding tasks.",
)
PAPERS = [SEER, TIES, DIMAT, SKILL]


@pytest.mark.parametrize(
    ("question", "kind", "noun"),
    [
        ("What GPU was SeerAttention-R benchmarked on?", "hardware", "gpu"),
        ("How many GPU hours did it take to train SeerAttention-R's gating?", "quantity", "hour"),
        ("So how many samples should you actually draw?", "quantity", "sampl"),  # the detail ends at a modal verb
        ("What is SkillNet's total parameter count?", "quantity", "paramet"),
        ("What BLEU score does MAE reach on WMT14?", "quantity", "bleu"),
        ("Which optimizer does LoFiT use?", "name", "optim"),
        ("Which datasets was OptFS evaluated on?", "dataset", ""),
        ("Is there a paper on merging models without training?", "existence", ""),
        ("Is there a way to learn representations without labels for any modality?", "existence", ""),
        ("Is there a real crowdsourcing collection with per-label timestamps?", "existence", ""),
        ("Has anyone plugged a frozen LLM layer into a vision model?", "existence", ""),
        ("Are there limitations of these models?", "lookup", ""),  # asks about the models, not for a paper
        ("Are there limitations to these models?", "lookup", ""),
        ("Is there a theoretical analysis?", "lookup", ""),  # of the paper under discussion
        ("Did people prefer the generated explanations?", "lookup", ""),
        ("Is there a theory result that blending pairs of inputs helps?", "existence", ""),
        ("Why does label smoothing hurt calibration?", "why", ""),
        ("How does TIES-Merging resolve sign conflicts?", "how", ""),
        ("coreinfer speedup titan xp", "quantity", ""),
        ("What is TIES-Merging?", "definition", "merg"),  # the defined term, for the lead only
        ("How much faster is TabPFN?", "quantity", ""),  # a ratio ("230 times"), not the word "faster"
        ("How much smaller is the distilled model?", "quantity", ""),
        ("What mixout probability did they use for BERT?", "quantity", "probabl"),
        ("What sparsity level did CoreInfer run at?", "quantity", "sparsiti"),  # "level" is generic
        ("What temperature was used when sampling?", "quantity", "temperatur"),
        ("How does KTO turn prospect theory's value function into its loss?", "how", ""),  # no "value of k"
        ("which tokenizer does CodeGen2 use", "name", "token"),
        ("what hidden size threshold?", "quantity", "hidden"),  # "threshold" says no more than "size" does
        ("where is the code for MaxSup?", "code", ""),
        ("Is the MaxSup code available?", "code", ""),
        ("is there a public implementation of sparsemax?", "code", ""),
        ("How is code generation evaluated in CodeGen2?", "how", ""),  # code as a topic, not a link
    ],
)
def test_slot_of_a_question(question: str, kind: str, noun: str) -> None:
    slot = slot_of(question)
    assert slot.kind == kind
    assert head_noun(slot) == noun


def test_a_filler_is_a_number_with_the_asked_unit_a_device_or_a_reason() -> None:
    hours = slot_of("How many GPU hours did training take?")
    assert fills(hours, "training took 40 GPU hours") and not fills(hours, "a kernel that is 9x faster")
    gpu = slot_of("What GPU was it benchmarked on?")
    assert fills(gpu, "achieves speedups on H100 GPU") and not fills(gpu, "trained on just 0.4B tokens")
    why = slot_of("Why does merging fail?")
    assert fills(why, "it fails because of sign conflicts") and not fills(why, "we merge models")
    count = slot_of("How many tasks was SkillNet evaluated on?")
    assert fills(count, "better than dense baselines on eleven tasks")


def test_the_answer_leads_with_the_piece_that_fills_the_slot() -> None:
    _, final, _ = answer("What GPU was SeerAttention-R benchmarked on?", PAPERS)
    first = strip_markers(answer_sentences(final.text)[0])
    assert "H100" in first  # the last sentence of the abstract comes first
    assert final.not_stated is None
    assert len(answer_sentences(final.text)) <= 3
    assert_faithful(final)


def test_a_detail_the_abstract_leaves_out_is_said_to_be_not_stated() -> None:
    _, final, _ = answer("How many GPU hours did it take to train SeerAttention-R's gating modules?", PAPERS)
    first = answer_sentences(final.text)[0]
    assert "does not state" in first and "GPU hours" in first and "SeerAttention-R" in first
    assert final.not_stated and final.not_stated in final.text
    assert final.citations[markers_in(first)[0] - 1].paper.title == SEER.title
    assert_faithful(final)  # the note names the paper it cites; the closest evidence after it is verbatim
    assert all("does not state" not in u.text for u in answer_units(final))  # a note is not a claim


def test_an_answerable_detail_is_not_flagged() -> None:
    _, final, _ = answer("How many tokens was SeerAttention-R trained on?", PAPERS)
    assert final.not_stated is None and "not state" not in final.text
    assert "0.4B tokens" in strip_markers(final.text).split(" [")[0] or "0.4B" in " ".join(final.text.split()[:40])


def test_existence_question_opens_with_yes_and_the_title() -> None:
    _, final, _ = answer("Is there a paper on merging task-specific models into one multitask model?", PAPERS)
    first_line = final.text.splitlines()[0]
    assert first_line.startswith(f"Yes: {TIES.title} [")
    assert final.citations[markers_in(first_line)[0] - 1].paper.title == TIES.title
    assert_faithful(final)


def test_which_paper_question_opens_with_the_papers_title() -> None:
    """"Which paper ...?" asks for a paper: its title comes first, as a note the checker checks by the name."""
    from rag.answer.compose.evidence import Weights
    from rag.answer.compose.slots import asks_for_a_paper
    from rag.answer.markers import cited_sentences
    from rag.answer.notes import SURE_EXISTS, is_note, note_names, which_paper_sentence

    assert asks_for_a_paper("Which study merges task-specific models into one?")
    assert asks_for_a_paper("In which paper is TIES-Merging introduced?")
    assert asks_for_a_paper("never mind, which paper merges models?")
    assert not asks_for_a_paper("Which papers merge models?")  # a list
    assert not asks_for_a_paper("What work has been done on model merging?")  # a topic, not one paper
    assert not asks_for_a_paper("Which study design did they use?")
    assert not asks_for_a_paper('How does "Which Paper Wins" work?')  # a quoted title asks nothing
    # "Paper:" only when the abstention model is sure and the paper is a sure match; a title holding the asked
    # words proves such a paper exists, not that it is this one
    sure_score = Weights().list_min_score  # a list's sure matches
    assert which_paper_sentence("A  Title", SURE_EXISTS, sure_score, sure_score) == "Paper: A Title"
    assert which_paper_sentence("A Title", SURE_EXISTS, sure_score - 0.01, sure_score) == "Closest match: A Title"
    assert which_paper_sentence("A Title", SURE_EXISTS - 0.01, 0.99, sure_score) == "Closest match: A Title"
    assert is_note("Paper: A Title [1]") and note_names("Paper: A Title [1]") == "A Title"
    asked = "Do I Know This Entity? Knowledge Awareness in Language Models"  # a title that holds a "?"
    sentences = cited_sentences(f"Paper: {asked} [1]\nWe find entity directions. [1]", [asked])
    assert [s for s, _, _ in sentences] == [f"Paper: {asked} [1]", "We find entity directions. [1]"]
    _, final, _ = answer("Which paper merges task-specific models into one multitask model?", PAPERS)
    first_line = final.text.splitlines()[0]
    assert first_line.startswith(f"Paper: {TIES.title} [") or first_line.startswith(f"Closest match: {TIES.title} [")
    assert final.citations[markers_in(first_line)[0] - 1].paper.title == TIES.title
    assert_faithful(final)
    _, listing, _ = answer("Which papers merge task-specific models into one multitask model?", PAPERS)
    assert not listing.text.startswith(("Paper: ", "Closest match: "))


def test_which_paper_proposes_a_name_answers_with_the_paper_that_introduces_it() -> None:
    """"Whcih paper proposes Integrated Gradiants?" was answered "Paper: An Attribution Method for Siamese Encoders",
    ranked first for "generalizing the principle of integrated gradients"; the paper that introduces the method
    ("a new attribution method called Integrated Gradients") was second."""
    from rag.answer.extractive import ExtractiveAnswerer
    from rag.settings import Settings
    from rag.types import Answer, Hit, Retrieved

    user = make_paper("An Attribution Method for Siamese Encoders", "We derive a local attribution method for "
                      "Siamese encoders by generalizing the principle of integrated gradients to two inputs. "
                      "Integrated gradients are computed for every token pair.")
    owner = make_paper("Axiomatic Attribution for Deep Networks", "We study attributing a deep network's prediction "
                       "to its inputs. We use the axioms to guide the design of a new attribution method called "
                       "Integrated Gradients. It needs only a few calls to the gradient operator.")
    question = "Which paper proposes Integrated Gradients?"
    hits = tuple(Hit(p, s, p.abstract.split(". ")[0], 0, s) for p, s in [(user, 0.9), (owner, 0.7)])
    retrieved = Retrieved(question, hits, 0.9, False)
    final = list(ExtractiveAnswerer(Settings(), HashEmbedder()).stream(question, retrieved, []))[-1]
    assert isinstance(final, Answer)
    assert final.text.startswith(f"Paper: {owner.title} [1]\n"), final.text
    assert "called Integrated Gradients" in final.text and "Siamese" not in final.text
    assert [c.paper.title for c in final.citations] == [owner.title]
    assert_faithful(final)


def test_a_name_two_papers_share_is_no_papers_own_unless_it_proposes_it() -> None:
    """"Which paper claims that ReLU networks contain a hidden linear model ...?" was answered "Paper: Learning
    Prescriptive ReLU Networks": "ReLU" in that title's head made it the name's owner, but the first hit is about
    ReLU networks too. A shared term belongs to a paper only when its abstract proposes it."""
    from rag.answer.compose.naming import proposer
    from rag.types import Hit, Retrieved

    top = make_paper("Tapping into the Black Box", "We show that ReLU networks learn an implicit linear model. "
                     "A simple modification to the backward pass pulls its decision boundary back to the input.")
    titled = make_paper("Learning Prescriptive ReLU Networks", "We propose a piecewise linear neural network model "
                        "that balances prescriptive performance and interpretability.")
    question = "Which paper claims that ReLU networks contain a hidden linear model?"
    hits = tuple(Hit(p, s, p.abstract.split(". ")[0], 0, s) for p, s in [(top, 0.9), (titled, 0.7)])
    assert proposer(question, Retrieved(question, hits, 0.9, False)) is None
    coined = make_paper("ReLU: Rectified Linear Units", "We propose ReLU, a rectified linear unit for networks.")
    hits = tuple(Hit(p, s, p.abstract.split(". ")[0], 0, s) for p, s in [(top, 0.9), (coined, 0.7)])
    question = "Which paper proposes ReLU?"
    assert proposer(question, Retrieved(question, hits, 0.9, False)) == 1  # its own coinage
    lofit = make_paper("LoFiT: Localized Fine-Tuning on LLM Representations", "We introduce a framework called "
                       "Localized Fine-Tuning on LLM Representations (LoFiT).")
    user = make_paper("Steering Heads", "Unlike LoFiT, we steer heads without training.")
    hits = tuple(Hit(p, s, p.abstract.split(". ")[0], 0, s) for p, s in [(user, 0.9), (lofit, 0.7)])
    question = "Which paper introduces LoFiT?"
    assert proposer(question, Retrieved(question, hits, 0.9, False)) == 1  # the title's own name


def test_existence_says_yes_only_when_the_corpus_surely_has_such_a_paper(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The reviewer's "Is there a paper on reinforcement learning for robot locomotion?" was told "Yes:" with a paper
    on in-context RL that never mentions robots (the abstention model passed it at 0.55)."""
    from rag.answer.notes import SURE_EXISTS, existence_sentence, is_note, note_names

    assert existence_sentence("Is there a paper on graphs?", "A  Title", SURE_EXISTS) == "Yes: A Title"
    assert existence_sentence("Is there a paper on graphs?", "A Title", SURE_EXISTS - 0.01) == "Closest match: A Title"
    assert existence_sentence("is there a paper about mamba", "Mamba-based Models", 0.5) == "Yes: Mamba-based Models"
    assert existence_sentence("is there a paper about chess", "CHESS: Sparse Activation", 0.5).startswith("Closest")
    assert existence_sentence("Is there a paper about DIMAT?", "DIMAT: Decentralized Merging", 0.5).startswith("Yes")
    assert existence_sentence("Is there a paper about CREAM?", "CREAM: Self-Rewarding", 0.5).startswith("Yes")  # typed
    assert existence_sentence("is there a paper about cream?", "CREAM: Self-Rewarding", 0.5).startswith("Closest")
    assert is_note("Closest match: A Title [1]") and note_names("Closest match: A Title [1]") == "A Title"
    final = real_pipeline.ask("Is there a paper on reinforcement learning for robot locomotion?", answerer="extractive")
    assert final.text.startswith("Closest match: "), final.text
    assert all(c.verdict == "supported" for c in final.checks)
    sure = real_pipeline.ask("Is there a paper on merging models without training?", answerer="extractive")
    assert sure.text.startswith("Yes: "), sure.text


def test_comparison_gives_each_named_method_its_line_even_if_only_an_abstract_names_it() -> None:
    _, final, _ = answer("How do TIES-Merging and DIMAT differ?", PAPERS)
    lines = final.text.splitlines()
    cited = [{final.citations[n - 1].paper.title for n in markers_in(line)} for line in lines]
    assert {TIES.title} in cited and {DIMAT.title} in cited
    assert_faithful(final)


def test_comparison_says_plainly_which_named_method_is_missing() -> None:
    _, final, _ = answer("How does TIES-Merging compare with ZipIt?", PAPERS)
    assert "ZipIt" in final.text.splitlines()[-1] and is_note(final.text.splitlines()[-1])
    assert final.text.startswith("- TIES-Merging: ") and final.citations[0].paper.title == TIES.title


def test_the_checker_verifies_a_note_by_the_paper_it_names() -> None:
    good = f"{not_stated_sentence('SkillNet', 'the total parameter count')} [1]"
    wrong = f"{not_stated_sentence('SeerAttention-R', 'the total parameter count')} [1]"
    assert check_answer(good, [SKILL]).checks[0].verdict == "supported"
    assert check_answer(wrong, [SKILL]).checks[0].verdict == "unsupported"
    assert is_note(good) and not is_note("SkillNet does state its skills. [1]")
    assert names_paper("SkillNet", SKILL.title, SKILL.abstract) and not names_paper("DIMAT", SKILL.title, "")


def test_a_coined_name_no_retrieved_abstract_mentions_is_said_plainly() -> None:
    _, final, _ = answer("How does PRefLexOR merge models on GSM8K?", PAPERS)
    first = final.text.splitlines()[0]
    assert "GSM8K" in first and "not stated" in first and is_note(first)
    assert final.not_stated == first
    assert_faithful(final)
    _, plural, _ = answer("How does SkillNet activate skills for each task?", PAPERS)
    assert plural.not_stated is None and "not stated" not in plural.text


def test_pieces_come_lead_first_then_most_probable_not_in_abstract_order() -> None:
    from rag.answer.compose.analysis import analyse
    from rag.answer.compose.evidence import Weights, question_terms, score_sentences
    from rag.answer.compose.pieces import PieceModel, choose, cut_pieces
    from rag.types import Retrieved
    from tests.conftest import HashEmbedder
    from tests.test_answer import make_hits

    question = "What GPU was SeerAttention-R benchmarked on?"
    retrieved = Retrieved(question, make_hits(question, [SEER], HashEmbedder()), 0.9, False)
    terms = question_terms(question, retrieved)
    picks = score_sentences(analyse(question), retrieved, Weights(), terms)
    model = PieceModel.load()
    cands = cut_pieces(picks, terms, analyse(question), model.pool)
    probs = [0.9 if "FlashAttention" in c.text else 0.5 for c in cands]
    last = max(range(len(cands)), key=lambda j: cands[j].pick.index)
    chosen = choose(cands, probs, model, 80, 0.0, lead=last, max_quotes=2)
    assert chosen[0].index == max(c.pick.index for c in cands)  # the lead goes first, though last in the abstract
    assert len(chosen) <= 2


def test_which_of_them_leads_with_the_match_and_covers_the_other_cited_paper() -> None:
    history = [
        {"role": "user", "content": "Which papers merge models?"},
        {"role": "assistant", "content": f"- {TIES.title}: TIES-Merging trims small parameter changes, resolves "
         f"sign conflicts and merges only aligned parameters. [1]\n- {DIMAT.title}: DIMAT merges models iteratively "
         "and keeps training between merges, which needs local training on every agent. [2]"},
    ]
    _, final, _ = answer("Which of them needs no additional training?", PAPERS, history=history)
    lines = final.text.splitlines()
    first_cited = final.citations[markers_in(lines[0])[0] - 1].paper.title
    assert first_cited == TIES.title and "without additional training" in lines[0]
    assert any(line.startswith(f"- {DIMAT.title}: ") for line in lines[1:])
    assert_faithful(final)


def test_a_method_the_abstracts_only_mention_is_not_explained_from_another_paper() -> None:
    baseline = make_paper(
        "Binary Classifier Optimization for Alignment",
        "We propose Binary Classifier Optimization, which aligns models from thumbs-up and thumbs-down data. "
        "Our method performs on par with DPO and KTO on paired preference datasets.",
    )
    _, final, _ = answer("How does KTO turn prospect theory into an alignment loss?", [baseline, SKILL])
    first = final.text.splitlines()[0]
    assert "does not state how KTO works" in first and final.not_stated
    assert_faithful(final)
    _, own, _ = answer("How does SkillNet activate skills for each task?", PAPERS)
    assert own.not_stated is None  # SkillNet is the paper's own method ("We present SkillNet")
    user = make_paper(
        "A Statistical Theory of Contrastive Learning",
        "We extend approximate sufficient statistics to contrastive language-image pretraining (CLIP) with a new "
        "bound. Our bound explains when downstream linear probes succeed on the learned encoders.",
    )
    _, spelled, _ = answer("How was CLIP trained?", [user, SKILL])
    assert "does not state how CLIP works" in spelled.text.splitlines()[0] and spelled.not_stated
    # its long form says what CLIP stands for, not how it was trained


def test_what_is_x_leads_with_the_sentence_that_defines_x(tmp_path: Path) -> None:
    """"What is sparsemax?" opens with "We propose sparsemax, a new activation function ...", not with the
    likelier-looking sentence that only uses the word ("... the sparsemax analogue of the logistic loss")."""
    from tests.conftest import SMALL_PAPERS, open_hash_pipeline

    assert defined_term("What is sparsemax?") == "sparsemax"
    assert defined_term("What is the Wasserstein dependency measure?") == "Wasserstein dependency measure"
    assert defined_term("What is the main finding of the paper on sparse attention and why?") == ""
    assert defines("TIES-Merging", "our method, Elect Sign & Merge (TIES-Merging), which introduces three steps")
    assert not defines("sparsemax", "a new loss function which is the sparsemax analogue of the logistic loss")
    paper = make_paper(
        "From Softmax to Sparsemax: A Sparse Model of Attention and Multi-Label Classification",
        "We propose sparsemax, a new activation function similar to the traditional softmax, but able to output "
        "sparse probabilities. After deriving its properties, we show how its Jacobian can be efficiently "
        "computed. Then, we propose a new smooth and convex loss function which is the sparsemax analogue of "
        "the logistic loss. We obtain promising empirical results in multi-label classification.",
    )
    answer = open_hash_pipeline(tmp_path / "data", [paper, *SMALL_PAPERS]).ask("What is sparsemax?")
    assert answer.text.startswith("We propose sparsemax, a new activation function"), answer.text


def test_the_lead_comes_from_the_paper_the_question_names() -> None:
    """SkillNet's abstract speaks of its parameters but gives no count; another paper ranked first does ("7B
    parameters"), but the question is about SkillNet: the answer leads with SkillNet's best piece."""
    from rag.answer.extractive import ExtractiveAnswerer
    from rag.settings import Settings
    from rag.types import Answer, Retrieved
    from tests.test_answer import make_hits

    dense = make_paper("Scaling Dense Language Models", "We train a dense language model with 7B parameters on web "
                       "text. It matches larger models on reading comprehension.")  # fmt: skip
    question, embedder = "How many parameters does SkillNet have?", HashEmbedder()
    hits = sorted(make_hits(question, [dense, SKILL], embedder), key=lambda h: h.paper.title != dense.title)
    final = list(ExtractiveAnswerer(Settings(), embedder).stream(question, Retrieved(question, tuple(hits), 0.8,
                                                                                    False), []))[-1]  # fmt: skip
    assert isinstance(final, Answer)
    first = answer_sentences(final.text)[0]
    assert final.citations[markers_in(first)[0] - 1].paper.title == SKILL.title, final.text
    assert_faithful(final)


def test_the_asked_detail_of_what_about_is_its_noun() -> None:
    """"what about latency?" read "the about latency" ("The CoreInfer abstract does not state the about latency.")."""
    from rag.answer.compose.slots import asked_detail

    assert asked_detail("what about latency?") == "latency"
    assert asked_detail("what about the speedup?") == "speedup"
    assert asked_detail("How many approaches does I-Con connect?") == "approaches"  # "a" is no article here


def test_a_head_noun_matches_its_other_forms() -> None:
    """Snowball stems "reduction" to "reduct" and "reducing" to "reduc": the abstract states the reduction."""
    from rag.answer.compose.stated import unit_missing

    slot = slot_of("What is the reduction in refusal rate?")
    assert head_noun(slot) == "reduct"
    assert not unit_missing(slot, "reducing the refusal rate from 74.4% to 33.4%")
    assert unit_missing(slot_of("How many GPU hours did it take?"), "trained in 40 GPU days")
    assert not unit_missing(slot_of("What license is used?"), "Released under the MIT licence.")
    for question, other in [("How much memory does it use?", "memorization"), ("How many GPU hours?", "hourglass"),
                            ("How much energy?", "energetic"), ("How many parameters?", "a parametric model")]:
        assert unit_missing(slot_of(question), other), other  # another word, not another form of the noun


def test_a_head_noun_matches_with_or_without_its_hyphen_and_a_percentage_its_sign() -> None:
    """The reviewer's answers: "does not state the speed-up" before "speedups of up to 9x", "does not state the
    percentage" before "(less than 5\\%)"."""
    from rag.answer.compose.stated import unit_missing

    assert not unit_missing(slot_of("What is the speed-up of X?"), "near-theoretical speedups of up to 9x")
    assert not unit_missing(slot_of("What is the speedup of X?"), "speed-ups of 3x")
    assert not unit_missing(slot_of("What percentage of heads are retrieval heads?"), "less than 5\\%) of heads")
    assert not unit_missing(slot_of("What percentage gain does it get?"), "a gain of 3 pp")
    assert not unit_missing(slot_of("What fraction of heads are retrieval heads?"), "(less than 5%) of the heads.")
    # a share of something else is no answer (the second regression review's WINA question)
    assert unit_missing(slot_of("What fraction of weights does WINA keep?"), "up to 2.94% in average performance.")
    assert unit_missing(slot_of("What percentage of X?"), "a large share of the heads")
    assert not unit_missing(slot_of("What learning-rate is used?"), "the learning rate is 3e-4")
    assert not unit_missing(slot_of("what fraction of heads are retrieval heads"), "(less than 5\\%) of the heads")
    assert not unit_missing(slot_of("what proportion of X"), "one third of the data")
    assert unit_missing(slot_of("what fraction of X"), "a small portion of the heads")
    assert unit_missing(slot_of("What fraction of tokens does X prune?"), "a 10.33 times and 2.72 times speedup")
    assert not unit_missing(slot_of("What fraction of tokens does X prune?"), "pruning 0.3 of the tokens")
    assert not unit_missing(slot_of("what is the sparsity level used for the speedup"), "at 90% sparsity")


@pytest.mark.parametrize("question", ["What is the speed-up of SeerAttention-R?",
                                      "What percentage of attention heads are retrieval heads?",
                                      "what fraction of attention heads are retrieval heads",
                                      "what is the sparsity level used for seerattention-r speedup"])
def test_a_stated_detail_is_not_called_unstated(real_pipeline, question: str) -> None:  # type: ignore[no-untyped-def]
    final = real_pipeline.ask(question, answerer="extractive")
    assert "does not state" not in final.text and not final.not_stated, final.text


@pytest.mark.parametrize(("question", "measure", "filler", "not_filler"), [
    ("How fast is it?", "speed", "This increases to a 5 700times speedup when using a GPU.",
     "We also validate these results on an additional 67 small numerical datasets."),
    ("How much faster is TabPFN?", "speed", "it is up to 230x faster than AutoML", "on 18 datasets"),
    ("How long does training take?", "time", "training takes 8 GPU hours", "with 3 layers"),
    ("How large is the model?", "model size", "a 7B model with 32 layers", "a model trained on 1M tokens"),
    ("At what model size did the gains fade?", "model size", "results from relatively small LLMs (e.g., 7B parameters)",
     "over 2 billion samples"),  # a model's size needs no word "model" or "size" beside the number, but parameters
    ("How big is the network?", "model size", "a 125M-parameter network", "a network trained for 8 hours"),
    ("What is the size of the model?", "model size", "we release 1.3B and 7B checkpoints", "12K images"),
    ("How big is the dataset?", "size", "a dataset of 12K images", "a 7B model with 32 layers"),
    ("How many experts does it use?", "", "it routes to 8 experts", "no number here"),
    ("How accurate is it?", "score", "reaching an AUC of 0.856 for books and 0.678 for papers",
     "show OpenLLaMA-3B to be approximately as sensitive as OpenLLaMA-7B"),
    ("How well does it perform?", "score", "it improves top-1 accuracy by 1.2 points", "trained on 0.4B tokens"),
])  # fmt: skip
def test_a_quantity_asked_by_its_adjective_wants_that_kind_of_number(
    question: str, measure: str, filler: str, not_filler: str
) -> None:
    """"How fast is it?" (about TabPFN) led with "67 small numerical datasets": any number filled the slot."""
    slot = slot_of(question)
    assert slot.kind == "quantity" and slot.measure == measure
    assert fills(slot, filler) and not fills(slot, not_filler)


def test_a_two_part_question_takes_the_quantity_detail_from_the_part_that_asks_for_it() -> None:
    """"What is likelihood displacement in DPO, and how much did it lower the refusal rate?" asked for a number
    beside "likelihood displacement" (the first part's noun), so "(e.g., reducing the refusal rate ... from 74.4%
    to 33.4%)" filled nothing."""
    slot = slot_of("What is likelihood displacement in DPO, and how much did it lower the refusal rate?")
    assert slot.kind == "quantity" and "displac" not in slot.head
    assert fills(slot, "(e.g., reducing the refusal rate of Llama-3-8B-Instruct from 74.4% to 33.4%)")
    assert slot_of("What is AG, and how much compute does it save?").head == ("comput",)
    assert slot_of("How many GPU hours did it take to train X?").head == ("gpu", "hour")  # one part: as before


@pytest.mark.parametrize(("question", "title"), [
    ("SPLADE", "SPLADE"), ("what is splade", "SPLADE"), ("LinearAG", "Adaptive Guidance"),
    ("what paper proposes LinearAG", "Adaptive Guidance"),
    ("what does SAM stand for", "Sharpness-Aware Minimization"),  # spelled out in the title
])  # fmt: skip
def test_a_paper_named_alone_is_answered_though_the_abstention_model_doubts_it(
    real_pipeline, question: str, title: str  # type: ignore[no-untyped-def]
) -> None:
    """The reviewer's "SPLADE" and "what is splade" were refused with the SPLADE paper ranked first."""
    final = real_pipeline.ask(question, answerer="extractive")
    assert final.citations and final.citations[0].paper.title.startswith(title), final.text
    assert all(c.verdict == "supported" for c in final.checks)


def test_a_specific_detail_or_a_long_question_about_a_named_paper_is_still_the_abstention_models() -> None:
    from rag.answer.compose.analysis import analyse
    from rag.answer.compose.naming import names_its_paper
    from rag.types import Hit, Paper, Retrieved

    splade = Paper("p1", "SPLADE: Sparse Lexical and Expansion Model", "We present SPLADE, a sparse ranker.")
    ner = Paper("p2", "Masked Language Modelling for Biomedical NER", "We study masking rates.")
    retrieved = Retrieved("q", (Hit(splade, 0.3, "We present SPLADE.", 0, 0.3),), 0.3, True)
    assert names_its_paper(analyse("what is SPLADE"), retrieved)
    assert names_its_paper(analyse("what paper proposes SPLADE?"), retrieved)
    assert names_its_paper(analyse("what does SPLADE do exactly?"), retrieved)  # a filler word asks nothing more
    assert not names_its_paper(analyse("What GPU did SPLADE use?"), retrieved)  # a specific detail
    assert not names_its_paper(analyse("which base modle did SPLADE fine tune in its experiments"), retrieved)
    assert not names_its_paper(analyse("SPLADE training time"), retrieved)  # asks more than what it is
    assert not names_its_paper(analyse("LLM-generated text detection"), retrieved)  # a describing word
    second = Retrieved("q", (Hit(ner, 0.3, "s", 0, 0.3), Hit(splade, 0.2, "s", 0, 0.2)), 0.3, True)
    assert not names_its_paper(analyse("what is SPLADE"), second)  # the answer would come from the first hit
    assert not names_its_paper(analyse("what is NER?"), Retrieved("q", second.hits[:1], 0.3, True))  # title's end


def test_a_lower_case_name_an_english_word_too_is_its_paper_when_that_paper_is_first() -> None:
    """A reviewer's "selma tifa dsg gains" was refused ("SELMA TIFA DSG gains" was answered): "selma" is in the
    English word list, so the query's casing leaves it, and no coined name was left to name the first hit."""
    from rag.answer.compose.naming import with_title_name
    from rag.types import Hit, Paper, Retrieved

    selma = Paper("p1", "SELMA: Learning and Merging Skill-Specific Text-to-Image Experts",
                  "SELMA improves faithfulness (+2.1% on TIFA and +6.9% on DSG).")
    opera = Paper("p2", "Opera houses of Europe", "A survey of opera.")
    first = Retrieved("q", (Hit(selma, 0.4, "s", 0, 0.4),), 0.4, True)
    assert with_title_name("selma tifa dsg gains", first) == "SELMA tifa dsg gains"
    assert with_title_name("selmas gains", first) == "selmas gains"  # a whole word only
    assert with_title_name("opera gains", Retrieved("q", (Hit(opera, 0.4, "s", 0, 0.4),), 0.4, True)) == "opera gains"


def test_typed_queries_a_reviewer_saw_refused_or_misled_lead_with_their_fact(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """"selma tifa dsg gains" was refused (the upper-case form was answered); "retrieval heads proportion of
    attention heads" led with "(5) causal: ..." and cut "(less than 5%)" out of "(2) sparse: only a small portion
    … of the attention heads"."""
    selma = real_pipeline.ask("selma tifa dsg gains", answerer="extractive")
    assert not selma.abstained and "+2.1% on TIFA" in " ".join(strip_markers(selma.text).split()[:40]), selma.text
    heads = real_pipeline.ask("retrieval heads proportion of attention heads", answerer="extractive")
    assert not heads.text.startswith("(5) causal") and "only a small portion (less than 5" in heads.text, heads.text


def test_what_an_acronym_stands_for_is_led_by_its_spelled_out_form(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The researcher reviewer's "what does SAM stand for?" was answered without the expansion."""
    assert defined_term("what does SAE stand for?") == "SAE"
    assert defines("SAE", "Sparse autoencoders (SAEs) are a tool") and not defines("SAE", "we train an SAE")
    for question, spelled in [("what does SAM stand for", "Sharpness-Aware Minimization (SAM)"),
                              ("what does IAPT stand for?", "Instruction-Aware Prompt Tuning (IAPT)")]:
        first = real_pipeline.ask(question, answerer="extractive").text.split(" [")[0]
        assert spelled in first, first


def test_asked_hardware_is_stated_by_a_device_name() -> None:
    """A reviewer's "what hardware did seerattention-r use" got "does not state the hardware", then "on H100 GPU"."""
    from rag.answer.compose.stated import unit_missing

    hardware = slot_of("what hardware did SeerAttention-R use")
    assert hardware.kind == "hardware"
    assert not unit_missing(hardware, "a kernel that achieves speedups of up to 9x on H100 GPU at 90% sparsity")
    assert not unit_missing(slot_of("on what hardware?"), "less than 9 hours on a single 8xA800 GPU machine")
    assert unit_missing(hardware, "a kernel that achieves speedups of up to 9x at 90% sparsity")


@pytest.mark.parametrize(("query", "kind"), [
    ("percentage of nonzero activations in T5-base", "quantity"), ("mamba hybrid gain over transformer", "quantity"),
    ("tabpfn accuracy", "lookup"), ("sparse attention survey", "lookup"), ("dropout share", "quantity"),
    ("accuracy-efficiency trade-off attentive probing", "lookup"), ("information gain acquisition function", "lookup"),
    ("is there a paper sharing weights across layers?", "existence"), ("who shares code", "lookup"),
])  # fmt: skip
def test_a_keyword_query_with_a_quantity_noun_asks_for_a_number(query: str, kind: str) -> None:
    assert slot_of(query).kind == kind


def test_a_list_item_number_is_no_quantity() -> None:
    """"(5) causal: completely pruning retrieval heads ..." filled "retrieval heads proportion of attention heads"."""
    slot = slot_of("retrieval heads proportion of attention heads")
    assert not fills(slot, "(5) causal: completely pruning retrieval heads leads to failure in retrieving")
    assert not fills(slot, "We identify intriguing properties of retrieval heads:(1) universal: ")
    assert fills(slot, "only a small portion (less than 5\\%)")


def test_a_keyword_query_for_a_percentage_leads_with_it(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's "percentage of nonzero activations in T5-base" quoted the sentence with "(e.g., 3.0% for T5-Base
    ...)" cut out as "…": typed without a question word, it asked for no number."""
    answer = real_pipeline.ask("percentage of nonzero activations in T5-base", answerer="extractive")
    assert "3.0%" in " ".join(strip_markers(answer.text).split()[:40]), answer.text


@pytest.mark.parametrize(("question", "kind", "slot"), [
    ('How does "Statistical Machine Translation with a Factorized Grammar" work?', "how", "how"),
    ('What did "Testing the Ability of Language Models to Interpret Figurative Language" find?', "lookup", "lookup"),
    ('What did "Comparing Top-k and Top-p Decoding" find?', "lookup", "lookup"),
    ("How does the machine translation paper work?", "how", "how"),
    ("What are the 10 grand challenges of interpretable machine learning?", "lookup", "lookup"),
    ('Which GPU was "Breaking Out of Local Optima" run on?', "lookup", "hardware"),
    ("what machines did they train on", "lookup", "hardware"),
    ("What resolve rate do LLM coding agents reach on SWE-bench when fixing real GitHub issues?", "lookup", "quantity"),
    ("maxsup github", "lookup", "code"),
    ("Which paper shows that language models tuned on a handful of sentence-pair examples wrongly judge them?",
     "lookup", "lookup"),
    ("Which paper proposes a diffusion model for generating protein backbone structures?", "lookup", "lookup"),
    ("Which models did they fine-tune?", "lookup", "name"),
    ("Which approach decides which measurements to acquire, ranking candidates by how much they would tell?",
     "lookup", "lookup"),
    ("How can we guess how well a classifier does on shifted, unlabelled test data?", "how", "how"),
    ("On how many datasets does it set a new state of the art?", "quantity", "quantity"),
    ("How large is the Corr2Cause dataset and how well do LLMs do on it?", "quantity", "quantity"),
    ("imagebind-llm visual cache model how many features", "quantity", "quantity"),
    ("What AUC does document-level membership inference reach on books and papers?", "lookup", "quantity"),
    ("what are the papers on dropout", "list", "definition"),
    ("I recall a paper showing that how well a classifier can say 'none of the above' tracks its accuracy. It also "
     "introduced a benchmark. Which one is it?", "lookup", "lookup"),  # the statement's "how well" asks nothing
    ("TabPFN is a transformer for tables. how many GPUs did it use?", "quantity", "quantity"),
])  # fmt: skip
def test_words_a_question_only_mentions_do_not_decide_what_it_asks(question: str, kind: str, slot: str) -> None:
    """A quoted title, a word inside a clause or a noun the question only describes says nothing of what is asked.
    ACLSum's "How does \"Statistical Machine Translation ...\" work?" asked for hardware ("Machine"), and
    "... interpretable machine learning?" did too; "... fixing real GitHub issues?" asked where code is, "Which
    paper shows that language models ..." for a model name, "... ranking candidates by how much ..." for a
    number, and "What AUC does ... reach on books and papers?" for a list of papers."""
    from rag.answer.compose.analysis import analyse

    analysis = analyse(question)
    assert (analysis.kind, analysis.slot.kind) == (kind, slot)


def test_how_accurate_is_answered_with_its_score(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """"How accurate is it?" after the document-level membership inference paper was read as "how does it work" and
    quoted its procedure; it asks for a score ("an AUC of 0.856 for books")."""
    history = [{"role": "user", "content": "Can you tell whether an LLM was trained on a particular book?"}]
    first = real_pipeline.ask(history[0]["content"], answerer="extractive")
    history.append({"role": "assistant", "content": first.text})
    answer = real_pipeline.ask("How accurate is it?", history, answerer="extractive")
    assert "AUC of 0.856" in " ".join(answer.text.split()[:40]), answer.text


def test_a_named_paper_leads_when_no_piece_fills_the_slot() -> None:
    """"How well does SPLADE perform?": no sentence gives a score, and another paper's best-scored sentence led
    ("our generative judge achieves the best performance …"); the named paper's best-scored sentence does."""
    from rag.answer.compose.evidence import Pick
    from rag.answer.compose.lead import subject_lead
    from rag.answer.compose.naming import Subject
    from rag.answer.compose.pieces import Piece

    picks = [Pick(0, 0, "Our generative judge is strong on many tasks.", 3.0),
             Pick(1, 2, "We present a first-stage ranker based on explicit sparsity regularization.", 2.5),
             Pick(1, 4, "Our approach is simple.", 2.0)]
    cands = [Piece(p, 0, len(p.text), ()) for p in picks]
    slot = slot_of("How well does SPLADE perform?")
    assert not any(fills(slot, c.text) for c in cands)
    assert subject_lead(cands, [0.9, 0.3, 0.6], slot, None, Subject(1, "SPLADE")) == 1
    assert subject_lead(cands, [0.9, 0.3, 0.6], slot, None, None) is None  # no named paper: the default lead


def test_the_numbers_of_the_lead_sentence_stay_in_a_quantity_answer(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's Mamba questions quoted "exceeds the 8B Transformer on all 12 standard tasks we evaluated …": the
    cut piece was the asked gain, "(+2.65 points on average)"."""
    answer = real_pipeline.ask("mamba hybrid gain over transformer", answerer="extractive")
    assert "(+2.65 points on average)" in answer.text, answer.text


@pytest.mark.parametrize(("question", "term"), [
    ("whats early dropout", "early dropout"), ("what's mixout?", "mixout"), ("what does early dropout mean?",
     "early dropout"), ("What does MoE mean?", "MoE"), ("what does SAE stand for in this paper?", "SAE"),
    ("What does the mean local intrinsic dimension predict?", ""), ("what do they mean by sparsity?", ""),
])  # fmt: skip
def test_definition_questions_as_users_type_them(question: str, term: str) -> None:
    from rag.answer.compose.analysis import analyse

    assert defined_term(question) == term
    assert (analyse(question).kind == "definition") is bool(term)


def test_the_proposed_x_mentions_x_and_to_which_we_refer_as_x_defines_it() -> None:
    assert not defines("mixout", "We empirically evaluate the proposed mixout and its variants.")
    assert defines("mixout", 'we introduce a new regularization technique, to which we refer as "mixout", motivated')
    assert defines("early dropout", "for improving performance in underfitting models - early dropout: dropout is")


@pytest.mark.parametrize(("question", "lead"), [
    ("whats early dropout", "dropout is applied only during the initial phases of training"),
    ("what is mixout", "to which we refer as \"mixout\""),
    ("what is SPLADE?", "we present a new first-stage ranker"),
])  # fmt: skip
def test_a_definition_leads_with_what_defines_the_term(real_pipeline, question: str, lead: str) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's definitions led with the late-dropout sentence, "the proposed mixout" and "Our approach is
    simple": "whats" was no definition, "the proposed X" counted as defining X, a definition's "early dropout:"
    lost what followed the colon, and a name only the title gives fell back to any sentence."""
    answer = real_pipeline.ask(question, answerer="extractive")
    assert lead in " ".join(strip_markers(answer.text).split()[:40]), answer.text


def test_a_paper_is_called_by_its_own_name_not_by_a_word_of_its_title() -> None:
    """A reviewer's chat ended "The LLM abstract does not state the GPU.": the carried query named "LLM", a word of
    the CHESS title, and the note called the paper by it."""
    from rag.answer.compose.naming import subject
    from rag.types import Hit, Paper, Retrieved

    chess = Paper("p1", "CHESS: Optimizing LLM Inference via Channel-Wise Thresholding and Selective Sparsification",
                  "We propose CHESS, a general activation sparsification approach for LLM inference.")
    retrieved = Retrieved("q", (Hit(chess, 0.9, "s", 0, 0.9),), 0.9, False)
    assert subject("CHESS LLM inference what GPU was that on?", retrieved).name == "CHESS"  # type: ignore[union-attr]
    assert subject("what GPU does the LLM use?", retrieved).name == "CHESS"  # type: ignore[union-attr]


def test_the_regression_review_of_the_new_slot_rules() -> None:
    """"edge devices" or "GPU hours" do not say which hardware; a speed-up is stated by "speeding up ... 1.27x" but
    not by "extend the context length by 100 times"; "whats" is "what's"."""
    from rag.answer.compose.stated import unit_missing
    from rag.text import normalize_query

    gpus = slot_of("which GPUs did lambda-ECLIPSE use?")
    assert unit_missing(gpus, "trained on a mere 74 GPU hours, for resource-constrained edge devices")
    assert not unit_missing(gpus, "on a single 8xA800 GPU machine")
    speed = slot_of("What is the speedup of CHESS?")
    assert not unit_missing(speed, "fewer parameters, thus speeding up the LLM inference by up to 1.27x.")
    assert unit_missing(speed, "Activation Beacon is able to extend Llama-2-7B's context length by 100 times.")
    assert not unit_missing(speed, "Read-ME improves mean end-to-end latency up to 6.1%.")  # a reviewer's
    assert unit_missing(speed, "Read-ME cuts memory by 6.1%.")
    assert normalize_query("whats mixout") == "what is mixout" == normalize_query("what's mixout")
    assert normalize_query("whatsoever") == "whatsoever"


def test_a_definition_without_a_defining_sentence_keeps_to_the_term(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The regression review: "What is the lazy neuron phenomenon?" and "what's the main result of WINA?" led with
    another paper's or the paper's "we propose ...": only a name a title gives falls back to that sentence."""
    lazy = real_pipeline.ask("What is the lazy neuron phenomenon?", answerer="extractive")
    assert "CoreInfer" not in lazy.text.split(". ")[0], lazy.text
    wina = real_pipeline.ask("what's the main result of WINA?", answerer="extractive")
    assert "2.94%" in " ".join(strip_markers(wina.text).split()[:40]), wina.text


def test_the_second_regression_review_of_the_slot_rules() -> None:
    """"what hardware" is answered by a kind of device ("when using a GPU"), "which GPUs" only by a name; "what about
    the speedup?" by "up to 8x faster"; "we propose **SENTINEL**" and "Our approach, T-JEPA, relies on" define."""
    from rag.answer.compose.stated import unit_missing

    assert not unit_missing(slot_of("what hardware did TabPFN use?"), "a 5 700times speedup when using a GPU")
    assert unit_missing(slot_of("which GPUs did TabPFN use?"), "a 5 700times speedup when using a GPU")
    assert unit_missing(slot_of("what hardware did CHESS use?"), "attractive for edge devices")
    assert fills(slot_of("what about the speedup?"), "and is predicted to be up to 8x faster when generating tokens")
    assert not fills(slot_of("what about the speedup?"), "a hybrid of 43% Mamba-2, 7% attention")
    assert defines("SENTINEL", "To address this, we propose **SENTINEL** (**S**entence-level **E**arly")
    assert defines("T-JEPA", "Our approach, T-JEPA, relies on a Joint Embedding Predictive Architecture (JEPA)")


@pytest.mark.parametrize(("question", "lead"), [
    ("What are core neurons?", "sentence-wise core neurons, which refers to the subset of neurons"),
    ("what is T-JEPA?", "Our approach, T-JEPA, relies on a Joint Embedding Predictive Architecture"),
    ("What is the Mamba-2-Hybrid?", "50% MLP layers (Mamba-2-Hybrid)"),
    ("never mind, what is WINA?", "we propose WINA"), ("whats SPLADE", "we present a new first-stage ranker"),
])  # fmt: skip
def test_the_second_regression_review_of_definitions(real_pipeline, question: str, lead: str) -> None:  # type: ignore[no-untyped-def]
    """The second regression review: a definition split over a sentence's clauses was lost, a paper's "we
    introduce" sentence led instead of the one naming the term, "The ... abstract does not state what
    Mamba-2-Hybrid is" preceded the sentence spelling it out, an opener hid that a question asks for a definition,
    and "whats SPLADE" was refused."""
    answer = real_pipeline.ask(question, answerer="extractive")
    assert lead in " ".join(strip_markers(answer.text).split()[:40]), answer.text


def test_the_third_regression_check() -> None:
    """"We propose LoRA-BAM" does not define LoRA; "what is the main contribution of DIMAT?" asks for an aspect of a
    named paper, no definition."""
    from rag.answer.compose.analysis import analyse
    from rag.answer.compose.definitions import asks_definition

    assert not defines("LoRA", "We propose LoRA-BAM - a method that adds OoD detection monitors to the LoRA layer")
    assert defines("LoRA", "soft prompt tuning is less considered than Low-rank adaptation (LoRA) in the LLM era")
    for question in ("what is the main contribution of DIMAT?", "what is the key insight of CoreInfer?"):
        assert not asks_definition(question) and analyse(question).kind == "lookup", question
    for question in ("what is the lazy neuron phenomenon?", "What is sparsemax?", "what are the results?"):
        assert asks_definition(question), question


def test_a_term_is_defined_from_the_paper_its_title_names(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The third regression check: "What is label smoothing?" led with a reward-model paper's "by using label
    smoothing, we are in fact optimizing ..." instead of the paper titled for label smoothing."""
    answer = real_pipeline.ask("What is label smoothing?", answerer="extractive")
    assert answer.text.startswith("Label Smoothing (LS) is widely adopted"), answer.text


def test_a_capitalised_name_the_first_abstract_proposes_is_answered(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The second researcher round: "What is Loki?" was refused (no inner capital, so no coined name) although the
    first hit says "our proposed approach, Loki, gains up to 29.7% ..."."""
    answer = real_pipeline.ask("What is Loki?", answerer="extractive")
    assert not answer.abstained and "our proposed approach, Loki" in answer.text, answer.text


READ_ME = ("We propose Read-ME, which refactors a pre-trained dense LLM into smaller MoE models with decoupled "
           "routers. Read-ME outperforms other dense models of similar scales, improving MMLU by up to 10.1%. "
           "The router is pre-gated, so experts can be prefetched and cached.")


@pytest.mark.parametrize(
    ("question", "abstract", "stated"),
    [("How many experts does Read-ME extract?", READ_ME, False),  # numbers, and experts, never together
     ("How many reward models did they evaluate?", "We conduct an evaluation of 45 RMs.", True),  # initials
     ("How many samples does naive Bayes need?", "Naive Bayes requires O(log n) samples.", True),  # a formula
     ("How many parameters does it have?", "It has 7B parameters.", True),
     ("How fast is it?", "It is fast.", True),  # a speed-up: its measure, read by ``fills``
     ("What is the CHES score?", "We measure it by a centered hidden embedding similarity (CHES) score.", True),
     ("how many pretraining tasks are needed?", "It only requires a small number of pretraining tasks.", True),
     ("Which layers does it skip?", "It skips 4 central blocks; the middle layers matter less.", True),
     ("How many forward passes does TabPFN need?", "It predicts in a single forward pass.", True),
     # people are counted by their role
     ("How many people took part in the user study?", "A user study with 18 ML researchers shows it.", True),
     ("How many participants were there?", "We recruited 40 crowdworkers.", True),
     ("How many people took part in the user study?", "A user study shows it helps 3 tasks.", False),
     # the size of a change is stated by a result set against another
     ("What accuracy margin does it report?", "It outperforms the best competitor by an average 14%.", True),
     ("What accuracy margin does it report?", "It reaches 71% accuracy on CIFAR-10.", False),
     ("What accuracy margin does it report?", "It outperforms existing approaches on four datasets.", False),
     ("What accuracy margin does it report?", "Over 3 datasets, it reaches 71% accuracy.", False),
     ("What reduction in activation parameters does it report?", "It needs 50% fewer activation parameters.", True),
     ("How many human participants were in the study?", "We switched off the top 10 experts.", False),
     ("How many people took part in its user study?", "Users tend to provide 5 ratings each.", False)],
)  # fmt: skip
def test_a_quantity_is_stated_by_a_number_of_the_asked_thing(question: str, abstract: str, stated: bool) -> None:
    assert quantity_stated(slot_of(question), abstract) is stated


def test_a_count_the_named_abstract_never_gives_is_not_stated(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's "How many experts does Read-ME extract?" was answered with MMLU gains and latency: the abstract
    speaks of experts and gives numbers, but never a number of experts."""
    final = real_pipeline.ask("How many experts does Read-ME extract?", answerer="extractive")
    assert final.not_stated and "does not state" in final.text.split("\n")[0]
    stated = real_pipeline.ask("How many reward models does RAG-RewardBench evaluate?", answerer="extractive")
    assert not stated.not_stated and "45" in stated.text


@pytest.mark.parametrize(
    ("term", "text", "defined"),
    [("integrated gradients", "inherits the formal properties of integrated gradients: it accounts for", False),
     ("early dropout", "a solution for underfitting models - early dropout: dropout is applied only early", True),
     ("SPLADE", "SPLADE: Sparse Lexical and Expansion Model", True),
     ("Integrated Gradients", "We design a new attribution method called Integrated Gradients.", True),
     ("in-context learning", "We study in-context learning (ICL): an emergent ability to learn at inference.", True)],
)  # fmt: skip
def test_a_colon_defines_a_term_unless_it_follows_of(term: str, text: str, defined: bool) -> None:
    assert defines(term, text) is defined


def test_what_is_a_named_method_leads_with_the_paper_that_names_it(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's "What is Integrated Gradients?" quoted a paper that only uses it ("inherits the formal
    properties of integrated gradients: ..."), never the one that introduces it."""
    final = real_pipeline.ask("What is Integrated Gradients?", answerer="extractive")
    assert final.citations[0].paper.title == "Axiomatic Attribution for Deep Networks"
    assert final.text.startswith("We use the axioms to guide the design of a new attribution method called")


def test_code_that_will_be_available_is_stated() -> None:
    assert fills(slot_of("Is Activation Beacon's code available?"),
                 "Our model and code will be available at the BGE repository.")


def test_where_the_code_is_leads_with_its_link_or_says_it_is_not_stated(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's "where is the code for MaxSup?" got the same three MaxSup sentences as "What is MaxSup?"."""
    final = real_pipeline.ask("where is the code for MaxSup?", answerer="extractive")
    assert final.text.startswith("Code is available at: https://github.com/ZhouYuxuanYX/") and not final.not_stated
    missing = real_pipeline.ask("is the code of DIMAT available?", answerer="extractive")
    assert missing.not_stated == "The DIMAT abstract does not state where its code is."


@pytest.mark.parametrize(("question", "detail"), [
    ("How many users took part in the user study on interactive attention editing?", "users"),
    ("How many annotators participated in the study?", "annotators"),
])
def test_the_verb_after_a_counted_noun_is_not_the_asked_detail(question: str, detail: str) -> None:
    """A reviewer's "How many users took part in the user study ...?" was told the abstract "does not state" the
    "part" and then quoted "Our user study with 18 machine learning researchers": "took part" is the verb."""
    assert slot_of(question).detail == detail


def test_a_counted_noun_the_abstract_gives_a_number_of_is_not_flagged(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    final = real_pipeline.ask("How many users took part in the user study on interactive attention editing?",
                              answerer="extractive")
    assert final.not_stated is None and "18 machine learning researchers" in final.text, final.text


@pytest.mark.parametrize(("question", "expected"), [
    ("What datasets was DIN evaluated on?", "two public datasets"),
    ("What performance gains did SELMA report on TIFA and DSG?", "+2.1% on TIFA"),
    ("What learning rate did SELMA use?", "The SELMA abstract does not state the learning rate."),
])
def test_a_question_naming_its_papers_own_name_is_answered_though_the_model_doubts_it(
        real_pipeline, question: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's "What datasets was DIN evaluated on?" and "What performance gains did SELMA report on TIFA and
    DSG?" were refused with the named paper first: the abstention model weighs the query's dense similarity, which
    a bare acronym lacks. A detail the named abstract lacks is said to be not stated."""
    final = real_pipeline.ask(question, answerer="extractive")
    assert expected in final.text.splitlines()[0], final.text


def test_a_name_in_no_retrieved_abstract_leaves_the_question_to_the_abstention_model() -> None:
    from rag.answer.compose.analysis import analyse
    from rag.answer.compose.naming import asks_of_its_paper
    from rag.types import Hit, Paper, Retrieved

    polycom = Paper("p1", "Polynomial Composition Activations", "We propose PolyCom, a polynomial activation. "
                    "PolyCom beats other activation functions.")
    retrieved = Retrieved("q", (Hit(polycom, 0.9, "", 0, 0.5),), 0.1, True)
    assert asks_of_its_paper(analyse("Does PolyCom beat other activation functions?"), retrieved)
    assert not asks_of_its_paper(analyse("Does PolyCom beat SwiGLU?"), retrieved)  # SwiGLU: in no abstract
    assert not asks_of_its_paper(analyse("Does it beat SwiGLU?"), retrieved)  # names no paper
    llm = Paper("p2", "LLM Steering: Control Criteria as Constraints", "We propose LLM steering with constraints.")
    field = Retrieved("q", (Hit(llm, 0.9, "", 0, 0.5),), 0.1, True)  # with 10,000 made-up papers, dev_val's
    assert not asks_of_its_paper(analyse("How much does speculative decoding speed up LLM generation?"), field)


def test_a_phrase_the_first_abstract_proposes_is_answered_as_its_papers_name(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's "What is the information filtering hypothesis?" was refused with the paper that says "We
    additionally propose the information filtering hypothesis" first."""
    final = real_pipeline.ask("What is the information filtering hypothesis?", answerer="extractive")
    assert "propose the information filtering hypothesis" in final.text.splitlines()[0], final.text


def test_how_long_without_a_duration_in_the_abstract_is_not_stated(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's "How long did it take to train CodeGen2 16B?" was answered with CodeGen2's model sizes."""
    from rag.answer.compose.stated import duration_stated

    slot = slot_of("How long did it take to train CodeGen2 16B?")
    assert not duration_stated(slot, "We release CodeGen2 models in size 1B, 3.7B, 7B, and, 16B parameters.")
    assert duration_stated(slot, "Training takes 3 days on 512 TPUs.")
    final = real_pipeline.ask("How long did it take to train CodeGen2 16B?", answerer="extractive")
    assert final.text.startswith("The CodeGen2 abstract does not state how long it takes."), final.text
    beacon = real_pipeline.ask("How long does Activation Beacon take to train?", answerer="extractive")
    assert beacon.not_stated is None and "9 hours" in beacon.text.splitlines()[0], beacon.text


@pytest.mark.parametrize("question", [
    "What dataset is SPLADE evaluated on?",  # no dataset in its abstract, and "dataset" is too generic to flag
    "What neighborhood radius rho does SAM use?",  # a lookup whose other words its abstract lacks
    "SPLADE training time",
])
def test_a_detail_the_named_abstract_never_mentions_stays_the_abstention_models(real_pipeline, question: str) -> None:  # type: ignore[no-untyped-def]
    """The regression review: answering every question that names its paper's own name answered these with
    look-alike quotes and no "not stated" note; the old refusal was right."""
    final = real_pipeline.ask(question, answerer="extractive")
    assert final.abstained or final.not_stated, final.text


def test_which_gpu_is_not_stated_by_a_gpu() -> None:
    from rag.answer.compose.stated import unit_missing

    slot = slot_of("what GPU did TabPFN use for the 5700x speedup")
    assert unit_missing(slot, "This increases to a 5 700times speedup when using a GPU.")
    assert not unit_missing(slot, "It runs 9x faster on an H100 GPU.")


def test_how_long_is_the_context_asks_a_length_not_a_duration(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The regression review's "How long is the context that Activation Beacon can handle?" was told the abstract
    "does not state how long it takes", then quoted 4K to 400K."""
    assert slot_of("How long is the context that Activation Beacon can handle?").measure != "time"
    final = real_pipeline.ask("How long is the context that Activation Beacon can handle?", answerer="extractive")
    assert final.not_stated is None and "400K" in final.text, final.text


@pytest.mark.parametrize(("question", "expected"), [
    ("What problem does MaxSup address?", "Max Suppression (MaxSup)"),
    ("whats the main finding of NevIR", "do not consider negation"),
    ("What gain did WINA get over TEAL?", "2.94%"),
])
def test_a_question_about_its_papers_content_in_general_is_answered(real_pipeline, question: str,  # type: ignore[no-untyped-def]
                                                                     expected: str) -> None:
    """The second regression check: requiring every other word in the abstract refused these again ("problem",
    "main finding", "gain" ask about the paper's content, no detail it may lack)."""
    final = real_pipeline.ask(question, answerer="extractive")
    assert expected in final.text.splitlines()[0], final.text


@pytest.mark.parametrize("question", ["What is BERT?", "How does BERT work?"])
def test_a_name_the_abstracts_only_build_on_is_said_not_to_be_defined(real_pipeline, question: str) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's "What is BERT?" was answered with "we propose a hierarchical version of BERT, which bypasses
    BERT's length limitation" as if it said what BERT is: a sentence with "propose" in it, and ", which" after "of
    BERT", counted as introducing it."""
    final = real_pipeline.ask(question, answerer="extractive")
    first = final.text.splitlines()[0]
    assert "does not state" in first and "BERT" in first, final.text
    assert not defines("BERT", "we propose a hierarchical version of BERT, which bypasses BERT's length limitation.")
    assert defines("BERT", "BERT, which stands for Bidirectional Encoder Representations, is a language model.")
    assert defines("intervention extrapolation", "The objective of intervention extrapolation is to predict how ...")


def test_how_large_a_change_is_asked_is_answered_by_any_number() -> None:
    """"How large is the improvement over LoRA?" wanted a size (a count of parameters, tokens ...), so "by 12%" did
    not answer it; the size of a change is its amount."""
    slot = slot_of("How large is the improvement over LoRA?")
    assert slot.kind == "quantity" and slot.measure == ""
    assert fills(slot, "It improves accuracy by 12% over LoRA.")
    assert slot_of("how big is the dataset?").measure == "size"


def test_a_dataset_size_in_words_or_items_fills_a_size() -> None:
    """A chat's "how big is the crowdsourcing dataset ...?" was answered with background: "approximately two thousand
    workers, one million tasks" is a size, as is "12,000 dialogues"."""
    slot = slot_of("how big is the crowdsourcing dataset?")
    assert fills(slot, "This dataset comprises approximately two thousand workers, one million tasks.")
    assert fills(slot, "The dataset holds 12,000 annotated dialogues.")
    assert not fills(slot, "The dataset was collected from a real-world crowdsourcing platform in 2 stages.")
    assert fills(slot, "The dataset holds hundreds of thousands of images.")
    for text in ("Since 2017 transformers use the dataset.", "In 2020 it was shown that the dataset helps.",
                 "We train 300 epochs on 256 GPUs with the dataset.", "It is 100 times faster on the dataset."):
        assert not fills(slot, text), text  # a year, epochs, GPUs, a ratio: no count of the dataset's items


@pytest.mark.parametrize("question", ["How sparse are the MLP activations in T5?", "how expensive is the dataset?",
                                      "how deep are the networks?", "how common are such failures?"])
def test_how_and_a_gradable_adjective_asks_for_a_quantity(question: str) -> None:
    assert slot_of(question).kind == "quantity"


AUTOINT = ("Click-through rate (CTR) prediction is critical to online advertising. We propose AutoInt to learn "
           "high-order feature interactions. Experimental results on four real-world datasets show that it "
           "outperforms existing approaches. Code is available at: https://github.com/DeepGraphLearning/Recs.")


@pytest.mark.parametrize(
    ("question", "abstract", "stated"),
    [("Which four real-world datasets was AutoInt evaluated on for click-through rate prediction?", AUTOINT, False),
     ("Which datasets was AutoInt evaluated on?", AUTOINT, True),  # "CTR" may name one: only the question's own
     # acronyms are known, not "the general language understanding evaluation (GLUE) benchmark"'s
     ("Which benchmarks does AutoInt beat on?", AUTOINT.replace("four real-world datasets", "the general language "
                                                                "understanding evaluation (GLUE) benchmark"), True),
     ("Which dataset does AutoInt introduce?", AUTOINT, True),  # its own name answers what it makes
     ("Which models were used in AutoInt?", "We train small transformers on graphs.", True),  # not a named class
     ("Which datasets was AutoInt evaluated on?", AUTOINT.replace("four real-world datasets", "Criteo and Avazu"),
      True),
     # a method or a benchmark names no LLM (LoFiT's "LoRA", Read-ME's "MMLU"); a family or a size does
     ("Which LLMs did they run it on?", "We fine-tune LLMs with it and beat LoRA on most tasks.", False),
     ("Which pre-trained dense LLM did they refactor?", "We refactor dense LLMs into MoEs and gain on MMLU.", False),
     ("Which LLMs did they run it on?", "We fine-tune Llama-3 with it and beat LoRA on most tasks.", True),
     ("Which LLM did they use?", "We use OpenAI-o1 as the judge.", True),
     ("Which LLM did they use?", "Our 7B model beats BERTScore.", True),
     ("Which LLMs did they run it on?", "It beats BERTScore and OPTIMUS on LLMs.", False),
     ("Which methods involve LLM inference?", "CHESS speeds up LLM inference.", True),  # asks for methods
     ("Which large language models was it run on?", "We fine-tune LLMs with it and beat LoRA.", False),
     ("What LLM backbone does it use?", "It beats LoRA on GLUE.", False),
     ("Which LLMs did they run it on?", "We tune InstructGPT and TinyLlama.", True),  # a family inside the name
     ("Which LLMs did they run it on?", "It is robust on Clothing1M and Phi-shaped data.", False),  # no model's
     ("Which LLMs did they run it on?", "It edits a few heads of LLMs and matches fine-tuning.", False),
     ("On which tasks does it beat existing methods?", "It wins on image classification and regression.", True),
     ("Which regularizer does it propose?", "We propose a spectral regularizer.", True)],  # not a named class
)  # fmt: skip
def test_which_datasets_or_llms_is_stated_by_a_name_the_question_does_not_give(
        question: str, abstract: str, stated: bool) -> None:
    asked = f"{question} AutoInt"  # the question and its subject's name
    assert names_stated(slot_of(question), "AutoInt: Feature Interaction Learning", abstract, asked) is stated


def test_datasets_an_abstract_only_counts_are_not_stated(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """"Which four real-world datasets was AutoInt evaluated on?" was answered with "Experimental results on four
    real-world datasets show ...": the datasets' names are nowhere in the abstract."""
    final = real_pipeline.ask("Which four real-world datasets was AutoInt evaluated on for click-through rate "
                              "prediction?", answerer="extractive")
    assert final.not_stated and "names of the four real-world datasets" in final.text.split("\n")[0]
    stated = real_pipeline.ask("Which open-source LLMs did the many-label in-context classification paper test?",
                               answerer="extractive")
    assert not stated.not_stated and "OPT" in stated.text
    lofit = real_pipeline.ask("Which LLMs was LoFiT run on?", answerer="extractive")  # it names only LoRA
    assert lofit.not_stated and "LoFiT abstract does not state" in lofit.text.split("\n")[0], lofit.text
    own = real_pipeline.ask("Which model does the AutoInt paper propose?", answerer="extractive")
    assert not own.not_stated and "called the AutoInt" in own.text, own.text


@pytest.mark.parametrize(
    ("detail", "phrase"),
    [("four real-world datasets", "the names of the four real-world datasets"), ("corpus", "the name of the corpus"),
     ("corpora", "the names of the corpora"), ("pre-trained dense LLM", "the name of the pre-trained dense LLM")],
)  # fmt: skip
def test_the_names_a_paper_leaves_out_are_said_in_number(detail: str, phrase: str) -> None:
    from rag.answer.compose.lead import _names_phrase
    from rag.answer.compose.slots import Slot
    from rag.text import tokenize

    assert _names_phrase(Slot("dataset", detail, tuple(tokenize(detail)), ()), "X") == phrase


def test_a_keyword_query_asking_for_a_count_gets_that_count_as_its_detail(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """"tabpfn parameter count prior training time" was answered with the datasets' sizes; the TabPFN abstract
    never gives its parameter count. "mmra benchmark sample count subtasks" leads with its 1026 samples."""
    assert slot_of("tabpfn parameter count prior training time").detail == "parameter count"
    assert slot_of("coreinfer speedup titan xp").detail == ""  # any speed-up answers it
    assert slot_of("count of experts in readme").detail == slot_of("mixtral total count").detail == ""
    final = real_pipeline.ask("tabpfn parameter count prior training time", answerer="extractive")
    assert final.not_stated and "parameter count" in final.text.split("\n")[0]
    stated = real_pipeline.ask("mmra benchmark sample count subtasks", answerer="extractive")
    assert not stated.not_stated and "1026 samples" in answer_sentences(stated.text)[0]


def test_a_question_after_a_statement_that_sets_the_scene_asks_its_own_detail() -> None:
    """"There's a framework that uses an LLM as a zero-shot preference oracle ... scheduling. Which LLM did it use as
    the oracle?" had no detail: the scene and the question were one part, which no question word opens."""
    from rag.answer.compose.slots import question_parts

    question = ("There's a framework that uses an LLM as a zero-shot preference oracle for exam scheduling. Which LLM "
                "did it use as the oracle?")
    assert question_parts(question)[1] == "Which LLM did it use as the oracle"
    assert slot_of(question).detail == "LLM"
    assert question_parts("What does Fig. 3 show?") == ["What does Fig. 3 show"]  # no question word after the dot
    assert slot_of("It was tested on one public dataset. What is the public dataset called?").detail == "public dataset"


def test_the_papers_own_variants_and_the_spelled_out_class_name_no_llm() -> None:
    """"Which LLM did it use as the oracle?" about LISTEN, whose abstract says "a Large Language Model (LLM)" and
    names only its own algorithms LISTEN-U and LISTEN-T: no LLM is named. "GPT-4o" would be."""
    abstract = ("We introduce LISTEN, a framework that leverages a Large Language Model (LLM) as a zero-shot "
                "preference oracle. We propose two algorithms: LISTEN-U and LISTEN-T.")
    question, own = "Which LLM did it use as the oracle?", "LISTEN to Your Preferences"
    assert not names_stated(slot_of(question), own, abstract, f"{question} {own}", own)
    assert names_stated(slot_of(question), own, abstract.replace("LISTEN-T", "GPT-4o"), f"{question} {own}", own)
    # not told whose variants they are, LISTEN-U still looks like no model (``_MODEL_NAME``)
    assert not names_stated(slot_of(question), own, abstract, f"{question} {own}")
    asked = "Which dataset did it use?"  # a dataset may have any name
    assert names_stated(slot_of(asked), own, abstract.replace("LLM", "ML"), f"{asked} {own}")


def test_a_coined_word_that_describes_is_no_name_the_abstracts_must_mention() -> None:
    """"… swaps an L2-style relevance measure for an L1-style one …" was answered "L2-style and L1-style are not
    stated in any retrieved abstract": words ending in "-style", "-based", "-like" describe; they name nothing."""
    from rag.answer.compose.lead import unmentioned
    from rag.types import Retrieved
    from tests.test_answer import make_hits

    paper = make_paper("Active Multi-Task Learning via Lasso", "We replace the nu^2 relevance with nu^1 and use LASSO.")
    question = "Is there a paper that swaps an L2-style relevance measure for an L1-style one?"
    hits = make_hits(question, [paper], HashEmbedder())
    assert unmentioned(question, Retrieved(question, hits, 0.9, False)) == ""
    named = "Does a paper use SeerAttention-R with an L2-style loss?"
    note = unmentioned(named, Retrieved(named, make_hits(named, [paper], HashEmbedder()), 0.9, False))
    assert note.startswith("SeerAttention-R is not stated in any retrieved abstract")
    styled = "Which paper proposes an XGBoost-style model?"  # the name before "-style" is still asked about
    note = unmentioned(styled, Retrieved(styled, make_hits(styled, [paper], HashEmbedder()), 0.9, False))
    assert note.startswith("XGBoost is not stated in any retrieved abstract")


def test_a_title_cased_compound_is_no_name_a_note_calls_its_paper_by() -> None:
    """"what accuracy margin over other methods does the first one report?" about "Self-Supervised Relational
    Reasoning for Representation Learning" was noted as "The Self-Supervised abstract ...": a hyphenated phrase of the
    title ("Self-Supervised", "In-Context") is no name; the paper is called by its title. "Read-ME" is a name."""
    from rag.answer.compose.naming import subject
    from rag.types import Hit, Retrieved

    paper = make_paper("Self-Supervised Relational Reasoning for Representation Learning",
                       "Self-Supervised relational reasoning outperforms the best competitor by an average 14%.")
    question = "What margin does Self-Supervised relational reasoning report?"
    hits = (Hit(paper, 0.9, paper.abstract, 0, 0.9),)
    found = subject(question, Retrieved(question, hits, 0.9, False))
    assert found is not None and found.name == paper.title
    named = make_paper("Read-ME: Refactorizing LLMs as Router-Decoupled Mixture of Experts", "We propose Read-ME.")
    question = "How many experts does Read-ME use?"
    found = subject(question, Retrieved(question, (Hit(named, 0.9, named.abstract, 0, 0.9),), 0.9, False))
    assert found is not None and found.name == "Read-ME"
    former = make_paper("Training Q-Former Models at Scale", "Q-Former bridges vision and language.")
    question = "How fast is Q-Former?"  # one letter before the hyphen: a name
    found = subject(question, Retrieved(question, (Hit(former, 0.9, former.abstract, 0, 0.9),), 0.9, False))
    assert found is not None and found.name == "Q-Former"


def test_a_quantity_asked_in_a_setting_its_paper_never_names_is_not_stated(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """dev_fit's "What BLEU score does the mixture of attentive experts model reach on WMT14 English to French?" was
    answered with the English-to-German BLEU gain: "French" is in no sentence of that abstract (another retrieved
    abstract may name it). The setting the abstract does name is answered."""
    asked = "What BLEU score does the mixture of attentive experts model reach on WMT14 English to {}?"
    final = real_pipeline.ask(asked.format("French"), answerer="extractive")
    first = final.text.split("\n")[0]
    assert final.not_stated and "does not state the BLEU score on WMT14 English to French" in first, final.text
    stated = real_pipeline.ask(asked.format("German"), answerer="extractive")
    assert not stated.not_stated and "0.8 BLEU" in " ".join(stated.text.split()[:40]), stated.text


def test_a_question_naming_what_its_paper_never_mentions_is_not_stated(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """miss2_fit's "maxsup imagenet top-1 resnet-50 gain over label smoothing" quoted MaxSup's method, and so did
    "How much does MaxSup improve ... on ImageNet?": its abstract names no ImageNet (another retrieved abstract
    may). A name the abstract writes another way ("gpt4" for GPT-4-Turbo, "LLMs" spelled out) still counts."""
    final = real_pipeline.ask("How much does MaxSup improve over label smoothing on ImageNet?", answerer="extractive")
    first = final.text.split("\n")[0]
    assert final.not_stated and "MaxSup abstract does not state anything about ImageNet" in first, final.text
    for stated in ("what model did spar train and did it beat gpt4 turbo on ifeval",
                   "By how much does SENTINEL reduce object hallucinations in multimodal LLMs, and what loss is used?"):
        answer = real_pipeline.ask(stated, answerer="extractive")
        assert not answer.not_stated and "does not state" not in answer.text, answer.text


def test_a_keyword_querys_last_word_names_the_aspect_its_answer_leads_with(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """kw_fit's "represntation learning game algorithm requirements" led with the paper's set-up; the sentence
    holding "requires" now leads. Questions written out, and requests ("Find work on ..."), have no typed aspect."""
    from rag.answer.compose.slots import aspect_bonus, typed_aspect

    final = real_pipeline.ask("represntation learning game algorithm requirements", answerer="extractive")
    assert "only requires the gradients" in " ".join(strip_markers(final.text).split()[:40]), final.text
    assert typed_aspect("tabpfn training time gpu") == "gpu"
    assert typed_aspect("concept descriptions survey main finding") == "find"
    for written in ("What GPU did TabPFN use?", "Find work on hard patches mining", "tabpfn gpu?", ""):
        assert typed_aspect(written) == ""
    assert aspect_bonus("tabpfn gpu", ["on a GPU", "in a second"], None) == [0.6, 0.0]
    assert aspect_bonus("tabpfn gpu", ["in a second"], [0.1]) == [0.1]


def test_the_setting_and_the_names_a_note_checks_are_the_questions_own(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """Review: "... in its MoE form on WMT14 English to German?" was "not stated" (the abstract spells MoE out and
    states that setting); "... to French and how does it compare ...?" ran the setting to the question's end; a
    follow-up's note named a paper the chat carried ("does not state anything about CHESS")."""
    base = "What BLEU score does the mixture of attentive experts model reach"
    stated = real_pipeline.ask(f"{base} in its MoE form on WMT14 English to German?", answerer="extractive")
    assert not stated.not_stated, stated.text
    french = real_pipeline.ask(f"{base} on WMT14 English to French and how does it compare to the baseline?",
                               answerer="extractive")
    assert french.not_stated and french.not_stated.endswith("on WMT14 English to French."), french.text
    first = "How does CoreInfer compare with CHESS?"
    said = real_pipeline.ask(first, answerer="extractive").text
    chat = [{"role": "user", "content": first}, {"role": "assistant", "content": said}]
    then = real_pipeline.ask("how much faster is the first one?", chat, answerer="extractive")
    assert "anything about CHESS" not in then.text, then.text


def test_a_describing_name_or_an_accent_is_no_name_the_abstract_lacks() -> None:
    """Reworded questions were told "does not state the kernel speedup for R1-style" (a word ending in "-style"
    describes: R1, too short to check, is what it names) and "... for the method that replaces argmax with a Frechet
    mean" (the abstract writes "Fr\\'echet", as the scraped listings keep LaTeX accents)."""
    from rag.answer.compose.stated import named_in
    assert named_in("Frechet", "swapping argmax with the fr\\'echet mean")
    assert named_in("Fréchet", "the frechet mean") and named_in("Schrodinger", 'schr\\"odinger bridges')
    assert not named_in("Frechet", "the karcher mean")
    seer = make_paper("SeerAttention-R: Sparse Attention Adaptation for Long Reasoning",
                      "SeerAttention-R is a sparse attention framework for long reasoning. Its kernel achieves "
                      "speedups of up to 9x over FlashAttention-3 at 90% sparsity.")  # fmt: skip
    _, final, _ = answer("What kernel speedup does SeerAttention-R report for R1-style reasoning models?", [seer])
    assert final.not_stated is None and "9x over FlashAttention-3" in final.text.split(". [1]")[0]
    mean = make_paper("Geometry-Aware Adaptation", "We swap argmax with the Fr\\'echet mean over the label space. "
                      "This gives a relative improvement of 29.7% over SimCLR on ImageNet.")  # fmt: skip
    question = ("For the method that replaces argmax with a Frechet mean, what relative improvement did it report "
                "over SimCLR on ImageNet?")
    _, final, _ = answer(question, [mean])
    assert final.not_stated is None and "29.7%" in final.text


def test_a_number_word_of_another_noun_fills_no_asked_unit() -> None:
    """"What AUC did it reach for books and papers?" led with "we consider two mitigation strategies and find the AUC
    to slowly decrease" (its "two" counts strategies) over "reaching an AUC of 0.856 for books and 0.678 for papers"."""
    auc = slot_of("What AUC did it reach for books and papers?")
    assert not fills(auc, "Finally, we consider two mitigation strategies and find the AUC to slowly decrease.")
    assert fills(auc, "We show our methodology reaching an AUC of 0.856 for books and 0.678 for papers.")
    assert fills(slot_of("How many experts does Read-ME use?"), "Read-ME routes tokens to two experts.")
    assert fills(slot_of("How big is the crowdsourcing dataset?"), "The dataset has about two thousand workers.")
    assert fills(slot_of("What speedup does it get?"), "It decodes three times faster.")
    paper = make_paper("Did the Neurons Read your Book?",
                       "We consider two mitigation strategies and find the AUC to slowly decrease for partial "
                       "documents. We show our methodology reaching an AUC of 0.856 for books and 0.678 for papers.")
    _, final, _ = answer("What AUC did the book membership method reach?", [paper])
    assert final.text.startswith("We show our methodology reaching an AUC of 0.856")


def test_a_correlation_reached_is_a_quantity_kept_with_the_value_set_against_it() -> None:
    """"What correlation with activation patching did it reach on GPT-2 Large?" led with "attribution patching achieves
    a Pearson correlation of 0.006 …" and cut ", whereas RelP reaches 0.956", the answer; a statistic's name
    ("Kendall's rank correlation") asks for no number."""
    assert slot_of("What correlation with activation patching did it reach on GPT-2 Large?").kind == "quantity"
    assert slot_of("Which regularizer does the Kendall's rank correlation paper propose?").kind != "quantity"
    paper = make_paper("RelP: Faithful Attribution Patching",
                       "We introduce Relevance Patching (RelP). For MLP outputs in GPT-2 Large, attribution patching "
                       "achieves a Pearson correlation of 0.006, whereas RelP reaches 0.956, highlighting the gain.")
    _, final, _ = answer("What correlation with activation patching did RelP reach on GPT-2 Large?", [paper])
    assert "0.006, whereas RelP reaches 0.956" in final.text.split("[1]")[0]
    from itertools import pairwise

    from rag.answer.compose.evidence import Pick
    from rag.answer.compose.lead import complete_lead
    from rag.answer.compose.pieces import Piece

    text = "attribution patching achieves a Pearson correlation of 0.006, whereas RelP reaches 0.956, as shown."
    pick = Pick(0, 0, text, 1.0)
    cut = [0, text.index(", whereas"), text.index(", as shown"), len(text)]
    cands = [Piece(pick, a, b, ()) for a, b in pairwise(cut)]
    slot = slot_of("What correlation did RelP reach?")
    assert list(complete_lead(cands, [0.9, 0.1, 0.1], slot, 0, 0.15)) == [0.9, 0.9, 0.1]


def test_chat_shorthand_is_read_as_its_words(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's "papers abt label noise w/ long tail?" and "wht does mixout do" were refused ("abt", "w/" and
    "wht" are no words of the corpus, and lowered the abstention model's confidence), while the spelled-out
    questions were answered; a detail ends at a pronoun ("what datasets they test on" asks for datasets)."""
    from rag.text import normalize_query

    assert normalize_query("papers abt label noise w/ long tail?") == "papers about label noise with long tail?"
    assert normalize_query("wht does it do w/o pretraining, WAT gains") == (
        "what does it do without pretraining, what gains")
    assert normalize_query("diff-based I/O w/x") == "diff-based I/O w/x"  # only whole words
    assert slot_of("what datasets they test on n how much better").detail == "datasets"
    listed = real_pipeline.ask("papers abt label noise w/ long tail?", answerer="extractive")
    assert not listed.abstained and "When Noisy Labels Meet Long Tail Dilemmas" in listed.text
    mixout = real_pipeline.ask("wht does mixout do", answerer="extractive")
    assert not mixout.abstained and mixout.citations[0].paper.title.startswith("Mixout")


def test_a_title_cased_term_is_led_by_the_paper_that_introduces_it() -> None:
    """A reviewer's "How do Integrated Gradients work?" was answered from a paper that generalizes integrated
    gradients, while "how does integrated gradients work?" led with the one that introduces the method: capitalised
    words that are no coined name ("Integrated", "Gradients") leave the term's introduction to lead."""
    siamese = make_paper("An Attribution Method for Siamese Encoders",
                         "This paper derives a local attribution method for Siamese encoders by generalizing the "
                         "principle of integrated gradients to models with multiple inputs.")  # fmt: skip
    axioms = make_paper("Axiomatic Attribution for Deep Networks",
                        "We identify two fundamental axioms for attribution methods. We use the axioms to guide the "
                        "design of a new attribution method called Integrated Gradients.")  # fmt: skip
    from rag.answer.compose.evidence import Pick
    from rag.answer.compose.lead import lead_index
    from rag.answer.compose.pieces import Piece

    texts = [siamese.abstract, axioms.abstract.split(". ")[1]]
    cands = [Piece(Pick(h, 0, t, 1.0), 0, len(t), ()) for h, t in enumerate(texts)]
    for question in ("How do Integrated Gradients work?", "how does integrated gradients work?"):
        assert lead_index(cands, [0.8, 0.5], slot_of(question)) == 1
        _, final, _ = answer(question, [siamese, axioms])
        assert final.text.startswith("We use the axioms to guide the design"), final.text


def test_the_asked_class_is_no_name_the_abstract_must_mention() -> None:
    """A reviewer's "which LLM did the likelihood displacement paper show unalignment on?" was told "does not state
    anything about LLM": the abstract names Llama-3-8B-Instruct, and "LLM" is what is asked for, not a name given."""
    paper = make_paper("Unintentional Unalignment: Likelihood Displacement in Direct Preference Optimization",
                       "We show that likelihood displacement can cause unalignment, reducing the refusal rate of "
                       "Llama-3-8B-Instruct from 74.4% to 33.4%.")  # fmt: skip
    _, final, _ = answer("which LLM did the likelihood displacement paper show unalignment on?", [paper])
    assert final.not_stated is None and "Llama-3-8B-Instruct" in final.text


def test_a_short_form_and_a_rating_are_not_the_asked_noun() -> None:
    """A reviewer's "how many trainable params does SoftREPA add" and "what's the SOTA score improvement of
    vacancysbert with skills" each said "does not state" and then quoted the number ("fewer than 1M trainable
    parameters", "Improvements by 10% and 21.5%")."""
    from rag.answer.compose.stated import own_names, unit_missing

    params = slot_of("how many trainable params does SoftREPA add")
    stated = "It adds fewer than 1M trainable parameters to the pretrained model."
    assert head_noun(params) == head_noun(slot_of("how many trainable parameters does SoftREPA add"))
    assert not unit_missing(params, stated) and quantity_stated(params, stated)
    assert unit_missing(params, "It adds a small adapter.")
    sota = slot_of("what's the SOTA score improvement of VacancySBERT with skills")
    assert head_noun(sota) == "" and own_names(sota) == ["VacancySBERT"]


def test_a_hyphenated_coined_name_the_abstract_gives_makes_its_paper_the_subject() -> None:
    """A reviewer's "What is the vocabulary size of MAE-LM?" led with another paper's model sizes (CodeGen2's "1B,
    3.7B, 7B"): MAE-LM's paper was first, but "MAE-LM" is not in its title and, hyphenated, is three stems, so no
    subject was found and no "does not state" said."""
    from rag.answer.compose.naming import subject
    from rag.types import Hit, Paper, Retrieved

    mae = Paper("p1", "Representation Deficiency in Masked Language Modeling",
                "We propose MAE-LM, which pretrains the Masked Autoencoder architecture.")
    other = Paper("p2", "CodeGen2: Lessons for Training LLMs", "We release models in size 1B, 3.7B and 7B.")
    retrieved = Retrieved("q", (Hit(mae, 0.5, "s", 0, 0.5), Hit(other, 0.4, "s", 0, 0.4)), 0.5, False)
    found = subject("What is the vocabulary size of MAE-LM?", retrieved)
    assert found is not None and found.hit == 0
    assert subject("What is the vocabulary size of MAE-XL?", retrieved) is None  # the whole name, not its parts
    mentioned = Paper("p3", "Scaling laws", "Unlike MAE-LM, we fit power laws to the loss.")
    only_mentions = Retrieved("q", (Hit(mentioned, 0.5, "s", 0, 0.5),), 0.5, False)
    assert subject("What is MAE-LM's vocabulary size?", only_mentions) is None  # a paper about it, not one citing it


def test_a_sentence_s_capital_is_no_name_that_fills_a_dataset_slot() -> None:
    """A reviewer's "what datasets did it use?" after OCA led with "This transformation preserves ..." (its
    "This" counted as a new name) over "Experimental results on CIFAR-100 and ImageNet-1k ..."."""
    slot = slot_of("what datasets did it use?")
    assert not fills(slot, "This transformation preserves the geometry while also learning new data.")
    assert fills(slot, "Experimental results on CIFAR-100 and ImageNet-1k demonstrate that it works.")
    assert fills(slot, "CIFAR-100 is the benchmark we report.")  # a coined first word still counts
