"""The native LLaDA and Dream models on tiny random-weight checkpoints made on the fly (CPU, no download)."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")
pytest.importorskip("transformers")

import parallelbench as pb  # noqa: E402
from parallelbench.cli import main  # noqa: E402
from parallelbench.folder import read_rows  # noqa: E402
from parallelbench.reference_decoding import engine  # noqa: E402
from parallelbench.reference_decoding import load_masked_lm as exported_loader  # noqa: E402
from parallelbench.reference_decoding.hf_models import load_masked_lm  # noqa: E402
from parallelbench.reference_decoding.masked_lm import MaskedLMDenoiser  # noqa: E402
from parallelbench.reference_decoding.native_checkpoint import build_model, load_native_model  # noqa: E402
from parallelbench.reference_decoding.native_dream import DreamModel  # noqa: E402
from parallelbench.reference_decoding.native_llada import LLaDAModel  # noqa: E402
from parallelbench.reference_decoding.random_checkpoints import write_random_checkpoint  # noqa: E402

KINDS = ("llada", "dream")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models run fastest on one thread (and do not fight the other tests for the cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("native")
    return {kind: write_random_checkpoint(root / kind, kind, seed=3) for kind in KINDS}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return pb.build(tmp_path_factory.mktemp("build") / "pb", tasks=["waiting_line/copy"], splits={"test": 6})


def left_padded(ids: torch.Tensor, lengths: list[int], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of `ids` cut to `lengths` (from the left), left-padded into one batch, and the attention mask."""
    batch = torch.full((len(lengths), ids.shape[1]), pad_id, dtype=torch.long)
    mask = torch.zeros_like(batch)
    for row, length in enumerate(lengths):
        batch[row, -length:] = ids[row, :length]
        mask[row, -length:] = 1
    return batch, mask


def test_the_package_exports_the_loader() -> None:
    assert exported_loader is load_masked_lm


@pytest.mark.parametrize("kind, model_class", [("llada", LLaDAModel), ("dream", DreamModel)])
def test_a_checkpoint_loads_into_the_native_model_under_the_official_key_names(folders, kind, model_class) -> None:
    from safetensors import safe_open

    lm = load_masked_lm(folders[kind], device="cpu")
    assert type(lm.model) is model_class
    with safe_open(str(folders[kind] / "model.safetensors"), framework="pt") as shard:
        stored = set(shard.keys())
        assert set(lm.model.state_dict()) == stored
        name = next(iter(sorted(stored)))
        torch.testing.assert_close(lm.model.state_dict()[name], shard.get_tensor(name), rtol=0, atol=0)
    official = {"llada": ["model.transformer.wte.weight", "model.transformer.blocks.1.up_proj.weight",
                          "model.transformer.ln_f.weight", "model.transformer.ff_out.weight"],
                "dream": ["model.embed_tokens.weight", "model.layers.1.self_attn.k_proj.bias",
                          "model.layers.0.post_attention_layernorm.weight", "model.norm.weight", "lm_head.weight"]}
    assert set(official[kind]) <= stored
    assert not any(parameter.requires_grad for parameter in lm.model.parameters())


@pytest.mark.parametrize("kind", KINDS)
def test_logits_are_the_raw_batch_sequence_vocabulary_tensor(folders, kind) -> None:
    lm = load_masked_lm(folders[kind], device="cpu")
    config = json.loads((folders[kind] / "config.json").read_text())
    width = config["embedding_size"] if kind == "llada" else config["vocab_size"]
    ids = torch.randint(0, 300, (2, 9), generator=torch.Generator().manual_seed(0))
    logits = lm.logits(ids)
    assert isinstance(logits, torch.Tensor) and logits.shape == (2, 9, width) and logits.dtype == torch.float32
    assert torch.isfinite(logits).all()
    torch.testing.assert_close(lm.logits(ids.tolist()), logits)  # nested lists work too
    torch.testing.assert_close(lm.logits(ids, torch.ones_like(ids)), logits)  # an all-ones mask changes nothing
    with pytest.raises(ValueError, match="attention_mask has shape"):
        lm.logits(ids, torch.ones(2, 8))


@pytest.mark.parametrize("kind", KINDS)
def test_a_padded_row_gets_the_logits_it_gets_alone(folders, kind) -> None:
    lm = load_masked_lm(folders[kind], device="cpu")
    ids = torch.randint(0, 300, (3, 12), generator=torch.Generator().manual_seed(1))
    lengths = [12, 7, 3]
    batch, mask = left_padded(ids, lengths, lm.pad_id)
    together = lm.logits(batch, mask)
    for row, length in enumerate(lengths):
        alone = lm.logits(ids[row:row + 1, :length])[0]
        torch.testing.assert_close(together[row, -length:], alone, atol=1e-5, rtol=1e-5)
    unmasked = lm.logits(batch)  # the official LLaDA code's behaviour: padding attended to
    assert (unmasked[2, -3:] - lm.logits(ids[2:3, :3])[0]).abs().max() > 1e-3


@pytest.mark.parametrize("kind", KINDS)
def test_bfloat16_weights_load_as_bfloat16_and_stay_close(folders, kind) -> None:
    full = load_masked_lm(folders[kind], device="cpu", dtype="float32")
    half = load_masked_lm(folders[kind], device="cpu", dtype="bfloat16")
    assert {parameter.dtype for parameter in half.model.parameters()} == {torch.bfloat16}
    ids = torch.randint(0, 300, (1, 10), generator=torch.Generator().manual_seed(2))
    assert (half.logits(ids).float() - full.logits(ids)).abs().max() < 0.1


@pytest.mark.parametrize("kind", KINDS)
def test_a_folder_without_tokenizer_files_still_gives_logits(folders, kind, tmp_path) -> None:
    folder = shutil.copytree(folders[kind], tmp_path / kind)
    for name in ("tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json"):
        (folder / name).unlink(missing_ok=True)
    bare = load_masked_lm(folder, device="cpu")
    full = load_masked_lm(folders[kind], device="cpu")
    assert (bare.mask_id, bare.pad_id, bare.shift) == (full.mask_id, full.pad_id, full.shift)
    ids = torch.randint(0, 300, (2, 7), generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(bare.logits(ids), full.logits(ids), rtol=0, atol=0)
    with pytest.raises(FileNotFoundError, match="no tokenizer files"):
        bare.encode({"messages": []})


def test_a_checkpoint_that_does_not_match_its_config_is_refused(folders, tmp_path) -> None:
    from safetensors.torch import load_file, save_file

    folder = write_random_checkpoint(tmp_path / "broken", "llada", seed=0)
    tensors = load_file(str(folder / "model.safetensors"))
    tensors["model.transformer.blocks.0.extra.weight"] = tensors.pop("model.transformer.blocks.0.up_proj.weight")
    save_file(tensors, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match="missing.*blocks.0.up_proj.*unexpected.*blocks.0.extra"):
        load_native_model(folder)
    tensors = load_file(str(folders["llada"] / "model.safetensors"))
    tensors["model.transformer.ln_f.weight"] = torch.ones(3)
    save_file(tensors, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match="ln_f.weight has shape"):
        load_native_model(folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no safetensors weights"):
        load_native_model(folder)


def test_options_the_native_models_do_not_reproduce_are_refused(folders) -> None:
    config = json.loads((folders["llada"] / "config.json").read_text())
    with pytest.raises(ValueError, match="block_type='sequential'"):
        build_model({**config, "block_type": "sequential"})
    with pytest.raises(ValueError, match="alibi=True"):
        build_model({**config, "alibi": True})
    dream = json.loads((folders["dream"] / "config.json").read_text())
    with pytest.raises(ValueError, match="rope_scaling"):
        build_model({**dream, "rope_scaling": {"rope_type": "yarn", "factor": 4.0}})
    with pytest.raises(ValueError, match="no native implementation"):
        build_model({**dream, "model_type": "qwen2"})


def test_sharded_weights_load_shard_by_shard_through_the_index(folders, tmp_path, monkeypatch) -> None:
    from safetensors.torch import load_file, save_file

    from parallelbench.reference_decoding import native_checkpoint

    folder = shutil.copytree(folders["dream"], tmp_path / "sharded")
    tensors = load_file(str(folder / "model.safetensors"))
    (folder / "model.safetensors").unlink()
    names = sorted(tensors)
    shards = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}
    for shard, keys in shards.items():
        save_file({key: tensors[key] for key in keys}, str(folder / shard))
    index = {"metadata": {}, "weight_map": {key: shard for shard, keys in shards.items() for key in keys}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with torch.device("meta"):
        assert all(parameter.is_meta for parameter in build_model(json.loads((folder / "config.json").read_text()))
                   .parameters())  # building allocates nothing
    still_meta = []
    original = native_checkpoint.torch.nn.Module.load_state_dict

    def record(module, state, *args, **kwargs):  # after each shard: how many parameters are still unread
        result = original(module, state, *args, **kwargs)
        still_meta.append(sum(parameter.is_meta for parameter in module.parameters()))
        return result

    monkeypatch.setattr(native_checkpoint.torch.nn.Module, "load_state_dict", record)
    sharded = load_masked_lm(folder, device="cpu")
    monkeypatch.undo()
    assert len(still_meta) == 2 and still_meta[0] > 0 and still_meta[1] == 0
    ids = torch.randint(0, 300, (1, 9), generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(sharded.logits(ids), load_masked_lm(folders["dream"], device="cpu").logits(ids),
                               rtol=0, atol=0)


class FavourUndecodable(torch.nn.Module):
    """A model whose logits put the ids past the tokenizer far ahead of every other id."""

    def __init__(self, inner: torch.nn.Module, tokenizer_size: int) -> None:
        super().__init__()
        self.inner, self.tokenizer_size = inner, tokenizer_size

    def forward(self, **inputs: torch.Tensor) -> torch.Tensor:
        logits = self.inner(**inputs)
        logits[..., self.tokenizer_size:] += 50.0
        return logits


def test_dream_never_proposes_ids_its_tokenizer_cannot_decode(folders) -> None:
    lm = load_masked_lm(folders["dream"], device="cpu", answer_length=6)
    tokenizer_size = lm.model.config.vocab_size - len(lm.blocked_ids)
    assert lm.blocked_ids == tuple(range(tokenizer_size, lm.model.config.vocab_size))
    lm.model = FavourUndecodable(lm.model, tokenizer_size)
    ids = torch.randint(0, 300, (1, 8), generator=torch.Generator().manual_seed(0))
    assert int(lm.logits(ids)[0].argmax(dim=-1).min()) >= tokenizer_size  # the raw logits do favour them
    rows = pb.generate("list_ops/copy", n=3, seed=0, length=3, n_shots=0)
    denoiser = MaskedLMDenoiser(lm, [lm.encode(row) for row in rows], 6)
    for temperature in (0.0, 1.0):
        result = engine.decode(denoiser, 3, 6, tokens_per_step=2, temperature=temperature, seed=0)
        assert result.tokens.max() < tokenizer_size
        assert all(isinstance(lm.answer_text(row, answer), str) for row, answer in zip(rows, result.tokens))


@pytest.mark.parametrize("kind", KINDS)
def test_calibrate_decodes_with_a_native_model_at_the_expected_nfe(folders, built, kind, tmp_path, capsys) -> None:
    folder = shutil.copytree(built, tmp_path / "pb")
    assert main(["calibrate", str(folder), "--model", str(folders[kind]), "--rows-per-task", "3"]) == 0
    assert "waiting_line/copy\t2 / " in capsys.readouterr().out
    written = json.loads((folder / f"calibration/model-{kind}.json").read_text())
    lm = load_masked_lm(folders[kind], device="cpu")
    rows = [row for row in read_rows(folder, "test") if row["task"] == "waiting_line/copy"][:3]
    lengths = [lm.answer_length(row) for row in rows]
    points = {point["tokens_per_step"]: point for point in written["points"]}
    assert set(points) == {1, 2, 4, None}
    for setting, point in points.items():
        steps = [1 if setting is None else math.ceil(length / setting) for length in lengths]
        assert point["rows"] == 3 and point["nfe"] == pytest.approx(np.mean(steps))
        assert point["mean_tokens_per_step"] == pytest.approx(sum(lengths) / sum(steps))


#: Logits [0, ::3, :4] of seeded models (`checkpoint_config(kind, 100, ...)`, `randomize_(model, 0)`) on `GOLDEN_IDS`,
#: computed with the official model code (modeling_llada.py / modeling_dream.py, transformers 4.57.6, float32; see
#: docs/reference_decoding_neural.md for the code's source), rounded to 6 decimals.
GOLDEN_IDS = [[5, 17, 42, 99, 3, 64, 28, 71, 91, 91]]
GOLDEN = {
    "llada": [[0.2716, -0.38558, -0.623141, 1.237914], [-0.757, -0.420005, 0.239133, -0.393494],
              [-0.433613, 1.239454, -0.887538, -0.494381], [1.190842, -0.687652, -0.935776, -0.430787]],
    "dream": [[-0.627471, 0.057719, -0.520146, -1.526389], [-0.128866, 0.289223, 2.231011, -0.811651],
              [0.728428, -0.29094, 0.207349, -0.973241], [-0.299182, 1.153982, 1.061748, 0.58671]],
}


@pytest.mark.parametrize("kind", KINDS)
def test_logits_equal_numbers_computed_with_the_official_model_code(kind) -> None:
    from parallelbench.reference_decoding.random_checkpoints import checkpoint_config, randomize_

    specials = {"llada": {"<|endoftext|>": 90, "<|mdm_mask|>": 91}, "dream": {"<|endoftext|>": 90, "<|mask|>": 91}}
    model = randomize_(build_model(checkpoint_config(kind, 100, specials[kind])), 0).eval()
    with torch.no_grad():
        logits = model(torch.tensor(GOLDEN_IDS))
    torch.testing.assert_close(logits[0, ::3, :4], torch.tensor(GOLDEN[kind]), atol=2e-6, rtol=0)


def test_dreams_tokenizer_is_assembled_as_transformers_assembles_qwen2s(folders) -> None:
    import transformers

    from parallelbench.reference_decoding.native_checkpoint import load_tokenizer

    qwen2 = getattr(transformers, "Qwen2TokenizerFast", None) or transformers.Qwen2Tokenizer  # 4.x / 5.x names
    reference = qwen2.from_pretrained(folders["dream"])
    ours = load_tokenizer(folders["dream"])
    text = '<|im_start|>user\nReply with ["Anna Smith", "Zoë"] 123  tabs\tand\r\nnew lines<|im_end|>\n<|mask|><|mask|>'
    ids = ours(text, add_special_tokens=False)["input_ids"]
    assert ids == reference(text, add_special_tokens=False)["input_ids"]
    assert ids[-2:] == [ours.mask_token_id] * 2 and ours.decode(ids) == text
    assert len(ours) == len(reference)
