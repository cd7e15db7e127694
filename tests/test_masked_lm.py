"""The generic masked-LM denoiser, the Hugging Face loaders and the neural runner, on the CPU with tiny models."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import parallelbench as pb  # noqa: E402
from parallelbench.reference_decoding import engine  # noqa: E402
from parallelbench.reference_decoding.hf_models import (  # noqa: E402
    conventions,
    from_transformers,
    load_masked_lm,
    resolve_model_path,
)
from parallelbench.reference_decoding.masked_lm import (  # noqa: E402
    MaskedLM,
    MaskedLMDenoiser,
    left_pad,
    propose_from_logits,
)
from parallelbench.reference_decoding.neural import run_model_on_rows, timed  # noqa: E402
from word_level_bert import save_word_level_bert  # noqa: E402

VOCAB = 40
MASK = 3


def tiny_bert(seed: int = 0) -> torch.nn.Module:
    """A randomly initialised BERT masked LM with absolute position embeddings (so padding must be handled)."""
    torch.manual_seed(seed)
    config = transformers.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                                     vocab_size=VOCAB, max_position_embeddings=64)
    return transformers.BertForMaskedLM(config).eval()


def bert_lm(attention: str = "2d", position_ids: bool = True, **fields) -> MaskedLM:
    return MaskedLM(model=tiny_bert(), mask_id=MASK, pad_id=0, encode=lambda row: row["ids"],
                    decode=lambda row, ids: " ".join(map(str, ids)), answer_length=lambda row: 5,
                    attention=attention, position_ids=position_ids, **fields)


class PositionModel(torch.nn.Module):
    """Logits that peak at token ``position % vocab``: shows which sequence position a slot reads."""

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1]) % VOCAB
        return 10.0 * torch.nn.functional.one_hot(positions, VOCAB).float().expand(input_ids.shape[0], -1, -1)


class FlatModel(torch.nn.Module):
    """Logits that are equal everywhere except a large one on the mask token."""

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        logits = torch.zeros(*input_ids.shape, VOCAB)
        logits[..., MASK] = 50.0
        return logits


def plain_lm(model: torch.nn.Module, **fields) -> MaskedLM:
    return MaskedLM(model=model, mask_id=MASK, pad_id=0, encode=lambda row: row["ids"],
                    decode=lambda row, ids: " ".join(map(str, ids)), answer_length=lambda row: 4, **fields)


PROMPTS = [[5, 6, 7, 8, 9, 10, 11], [12, 13], [14, 15, 16, 17]]


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_sampled_proposals_equal_the_engines_numpy_path(temperature: float) -> None:
    logits = torch.randn(6, 10, 9, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    uniforms = np.random.default_rng(5).random((6, 10))
    value, confidence, margin, entropy = propose_from_logits(
        logits.reshape(-1, 9), temperature, torch.from_numpy(uniforms.reshape(-1)))
    expected = engine.summarize(torch.softmax(logits, -1).numpy(), temperature, np.random.default_rng(5))
    assert (value.numpy() == expected.value.reshape(-1)).all()
    np.testing.assert_allclose(confidence.numpy(), expected.confidence.reshape(-1), atol=1e-12)
    np.testing.assert_allclose(margin.numpy(), expected.margin.reshape(-1), atol=1e-12)
    np.testing.assert_allclose(entropy.numpy(), expected.entropy.reshape(-1), atol=1e-12)


def test_greedy_proposals_with_ties_equal_the_engines_numpy_path() -> None:
    logits = torch.randint(0, 3, (5, 8, 6), generator=torch.Generator().manual_seed(2)).double()  # many exact ties
    uniforms = np.random.default_rng(7).random((5, 8))
    value = propose_from_logits(logits.reshape(-1, 6), 0.0, torch.from_numpy(uniforms.reshape(-1)))[0]
    expected = engine.summarize(torch.softmax(logits, -1).numpy(), 0.0, np.random.default_rng(7))
    assert (value.numpy() == expected.value.reshape(-1)).all()


def test_argmax_breaks_exact_ties_uniformly_with_the_seeded_draws() -> None:
    logits = torch.tensor([[0.0, 2.0, 2.0, 1.0, 2.0]]).expand(6000, -1)
    uniforms = torch.from_numpy(np.random.default_rng(0).random(6000))
    value = propose_from_logits(logits, 0.0, uniforms)[0].numpy()
    counts = np.bincount(value, minlength=5)
    assert counts[0] == counts[3] == 0
    assert all(abs(counts[i] / 6000 - 1 / 3) < 0.03 for i in (1, 2, 4))
    assert (propose_from_logits(logits, 0.0, uniforms)[0].numpy() == value).all()


def test_bfloat16_softmax_turns_near_equal_maxima_into_ties() -> None:
    logits = torch.tensor([[1.0, 1.0001, -5.0]]).expand(2000, -1)
    uniforms = torch.from_numpy(np.random.default_rng(1).random(2000))
    exact = propose_from_logits(logits, 0.0, uniforms, "float64")[0]
    rounded = propose_from_logits(logits, 0.0, uniforms, "bfloat16")[0]
    assert set(exact.tolist()) == {1}
    assert set(rounded.tolist()) == {0, 1}


def test_mask_and_blocked_tokens_are_never_proposed() -> None:
    lm = plain_lm(FlatModel(), blocked_ids=(0, 1, 2))
    denoiser = MaskedLMDenoiser(lm, PROMPTS, 4)
    result = engine.decode(denoiser, 3, 4, tokens_per_step=1, rule="confidence", temperature=1.0, seed=3)
    assert not np.isin(result.tokens, [0, 1, 2, MASK]).any()
    proposal = denoiser.propose(np.zeros((3, 4), dtype=np.int64), np.ones((3, 4), dtype=bool), 0.0,
                                np.random.default_rng(0))
    np.testing.assert_allclose(proposal.confidence, 1 / (VOCAB - 4))


@pytest.mark.parametrize("shift", [False, True])
def test_shifted_models_read_the_logits_of_the_position_before_each_slot(shift: bool) -> None:
    denoiser = MaskedLMDenoiser(plain_lm(PositionModel(), shift=shift), PROMPTS, 4)
    proposal = denoiser.propose(np.zeros((3, 4), dtype=np.int64), np.ones((3, 4), dtype=bool), 0.0,
                                np.random.default_rng(0))
    width = max(len(prompt) for prompt in PROMPTS)
    expected = (width + np.arange(4) - (1 if shift else 0)) % VOCAB
    assert (proposal.value == expected).all()


def test_revealed_slots_enter_the_sequence_and_report_certainty() -> None:
    lm = bert_lm()
    denoiser = MaskedLMDenoiser(lm, PROMPTS[:1], 5)
    tokens = np.array([[20, 0, 21, 0, 0]])
    masked = np.array([[False, True, False, True, True]])
    ids = denoiser.model_inputs(tokens, masked)["input_ids"][0, -5:].tolist()
    assert ids == [20, MASK, 21, MASK, MASK]
    proposal = denoiser.propose(tokens, masked, 1.0, np.random.default_rng(0))
    assert proposal.value[0, 0] == 20 and proposal.confidence[0, 2] == 1.0


@pytest.mark.parametrize("attention", ["2d", pytest.param("pairwise", marks=pytest.mark.skipif(
    int(transformers.__version__.split(".")[0]) < 5, reason="transformers' BERT takes a 4D mask from 5.0"))])
def test_a_padded_batch_gives_each_row_the_logits_it_gets_alone(attention: str) -> None:
    lm = bert_lm(attention=attention)
    tokens = np.random.default_rng(0).integers(4, VOCAB, size=(3, 5))
    masked = np.random.default_rng(1).random((3, 5)) < 0.6
    batched = MaskedLMDenoiser(lm, PROMPTS, 5).slot_logits(tokens, masked)
    for row, prompt in enumerate(PROMPTS):
        alone = MaskedLMDenoiser(lm, [prompt], 5).slot_logits(tokens[row:row + 1], masked[row:row + 1])
        torch.testing.assert_close(batched[row], alone[0], atol=1e-5, rtol=1e-5)


def test_logits_of_a_padded_batch_give_each_row_its_logits_alone() -> None:
    lm = bert_lm()
    ids, attention = left_pad(PROMPTS, pad_id=0)
    together = lm.logits(ids, attention)
    assert together.shape == (3, ids.shape[1], VOCAB)
    for row, prompt in enumerate(PROMPTS):
        torch.testing.assert_close(together[row, -len(prompt):], lm.logits([prompt])[0], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(lm.logits(ids)[1, -2:], lm.logits([PROMPTS[1]])[0], atol=1e-3)  # without the mask


def test_without_position_ids_an_absolute_position_model_changes_under_padding() -> None:
    """The reason position ids exist: the padding test above would fail without them."""
    tokens, masked = np.zeros((3, 5), dtype=np.int64), np.ones((3, 5), dtype=bool)
    batched = MaskedLMDenoiser(bert_lm(position_ids=False), PROMPTS, 5).slot_logits(tokens, masked)
    alone = MaskedLMDenoiser(bert_lm(position_ids=False), PROMPTS[1:2], 5).slot_logits(tokens[:1], masked[:1])
    assert not torch.allclose(batched[1], alone[0], atol=1e-3)


def test_batched_greedy_decoding_equals_decoding_each_row_alone() -> None:
    lm = bert_lm()
    options = dict(tokens_per_step=2, rule="confidence", temperature=0.0, seed=0)
    batched = engine.decode(MaskedLMDenoiser(lm, PROMPTS, 5), 3, 5, **options)
    for row, prompt in enumerate(PROMPTS):
        alone = engine.decode(MaskedLMDenoiser(lm, [prompt], 5), 1, 5, **options)
        assert (alone.tokens[0] == batched.tokens[row]).all()
        assert (alone.fill_step[0] == batched.fill_step[row]).all()


def test_decoding_is_seeded() -> None:
    lm = bert_lm()
    runs = [engine.decode(MaskedLMDenoiser(lm, PROMPTS, 5), 3, 5, tokens_per_step=1, temperature=1.0, seed=seed)
            for seed in (4, 4, 5)]
    assert (runs[0].tokens == runs[1].tokens).all() and (runs[0].fill_step == runs[1].fill_step).all()
    assert (runs[0].tokens != runs[2].tokens).any()


def test_a_subset_of_the_batch_is_decoded_against_its_own_prompts() -> None:
    lm = bert_lm()
    denoiser = MaskedLMDenoiser(lm, PROMPTS, 5)
    tokens, masked = np.zeros((3, 5), dtype=np.int64), np.ones((3, 5), dtype=bool)
    everything = denoiser.slot_logits(tokens, masked)
    torch.testing.assert_close(denoiser.slot_logits(tokens[[2]], masked[[2]], rows=np.array([2]))[0], everything[2],
                               atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="pass `rows`"):
        denoiser.slot_logits(tokens[:2], masked[:2])


def test_answer_text_is_cut_at_the_first_end_of_text_token() -> None:
    lm = plain_lm(FlatModel(), stop_ids=(7, 8))
    assert lm.answer_text({}, [4, 5, 8, 6, 7]) == "4 5"
    assert lm.answer_text({}, [4, 5]) == "4 5"
    assert lm.answer_text({}, [7, 4]) == ""


def test_left_pad_puts_padding_first() -> None:
    ids, attention = left_pad([[1, 2, 3], [4]], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [0, 0, 4]]
    assert attention.tolist() == [[True, True, True], [False, False, True]]


class FakeTokenizer:
    """Just enough of a tokenizer to show each family's conventions."""

    def __init__(self, vocab: dict[str, int], mask: int | None, eos: int, pad: int | None = None) -> None:
        self.vocab, self.mask_token_id, self.eos_token_id, self.pad_token_id = vocab, mask, eos, pad
        self.unk_token_id, self.sep_token_id = None, None

    def convert_tokens_to_ids(self, token: str) -> int | None:
        return self.vocab.get(token)


def test_each_model_family_has_its_own_conventions() -> None:
    llada = conventions("llada", FakeTokenizer({"<|mdm_mask|>": 126336, "<|endoftext|>": 126081,
                                                "<|eot_id|>": 126348}, mask=None, eos=126081))
    assert llada["mask_id"] == 126336 and set(llada["stop_ids"]) == {126081, 126348}
    assert not llada["shift"] and llada["attention"] == "2d"
    dream = conventions("dream", FakeTokenizer({"<|endoftext|>": 151643, "<|im_end|>": 151645}, mask=151666,
                                               eos=151643, pad=151643))
    assert dream["mask_id"] == 151666 and set(dream["stop_ids"]) == {151643, 151645}
    assert dream["shift"] and dream["attention"] == "2d" and dream["position_ids"]
    with pytest.raises(ValueError, match="no mask token"):
        conventions("", FakeTokenizer({}, mask=None, eos=1))


def test_a_model_missing_from_disk_raises_a_clear_error() -> None:
    with pytest.raises(FileNotFoundError, match="not in the Hugging Face cache.*download"):
        resolve_model_path("parallelbench-tests/no-such-model")


def test_a_local_masked_lm_folder_loads_and_runs_through_the_engine(tmp_path) -> None:
    save_word_level_bert(tmp_path, letters="ABCDEFGH", max_position_embeddings=512)
    lm = load_masked_lm(tmp_path, device="cpu", answer_length=6)
    assert lm.mask_id == 4 and lm.position_ids and not lm.shift
    rows = pb.generate("list_ops/copy", n=3, seed=0, length=3, n_shots=0)
    prompt = lm.encode(rows[0])
    assert prompt[:2] == [lm.model.config.vocab_size - 2, 1]  # "user:" then an unknown word: the template ran
    points = run_model_on_rows(rows, lm, tokens_per_step=(1, 3, None), temperature=1.0, batch_size=2)
    assert [point.tokens_per_step for point in points] == [1, 3, None]
    assert [point.nfe for point in points] == [6, 2, 1]
    assert all(point.rows == 3 and 0 <= point.accuracy <= 1 for point in points)


def test_run_model_on_rows_records_the_realised_schedule_and_scores_the_text() -> None:
    rows = pb.generate("list_ops/copy", n=4, seed=0, length=(3, 4), rows_per_length=2, n_shots=0)
    gold = {row["id"]: row["answer"] for row in rows}
    lm = from_transformers(tiny_bert(), _GoldTokenizer(gold), answer_length=5)
    lm.decode = lambda row, ids: gold[row["id"]]  # an oracle-like decoder: every answer text is the gold one
    points = run_model_on_rows(rows, lm, tokens_per_step=(2,), rule="confidence", temperature=0.0, batch_size=3)
    (point,) = points
    assert point.rows == 4 and point.accuracy == 1.0 and point.nfe == 3
    assert point.mean_tokens_per_step == pytest.approx(5 / 3)
    assert point.predictions == [gold[row_id] for row_id in point.row_ids]
    assert json.loads(json.dumps(point.summary()))["tokens_per_step"] == 2


class _GoldTokenizer:
    """A tokenizer stand-in for `from_transformers`: no chat template, one token per character."""

    mask_token_id, pad_token_id, eos_token_id, sep_token_id, unk_token_id = MASK, 0, 1, None, None
    chat_template = None

    def __init__(self, gold: dict[str, str]) -> None:
        self.gold = gold

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        return {"input_ids": [4 + ord(char) % (VOCAB - 4) for char in text[:20]]}

    def convert_tokens_to_ids(self, token: str) -> None:
        return None


def test_timed_synchronises_and_measures() -> None:
    result, seconds = timed(lambda: sum(range(1000)), torch.device("cpu"))
    assert result == 499500 and seconds >= 0


@pytest.mark.parametrize("arch", ["llada", "dream"])
def test_the_decoding_benchmark_runs_on_the_cpu_with_a_small_model(capsys, arch: str) -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "decoding.py"
    spec = importlib.util.spec_from_file_location("decoding_benchmark", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    threads = torch.get_num_threads()
    try:
        assert benchmark.main(["--arch", arch, "--small", "--device", "cpu", "--repeats", "1",
                               "--tokens-per-step", "4"]) == 0
    finally:
        torch.set_num_threads(threads)
    printed = capsys.readouterr().out
    assert printed.startswith(f"{arch} tiny, random weights")
    assert "overhead" in printed and "confidence" in printed and "random" in printed
