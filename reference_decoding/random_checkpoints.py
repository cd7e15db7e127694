"""Random-weight LLaDA and Dream checkpoint folders with the official config keys, key names and tokenizer files.

Used by the tests, by ``scripts/check_native_models.py`` (which runs the official model code on them) and by
``benchmarks/decoding.py``; made offline in a second, a few MB each:

    folder = write_random_checkpoint("runs/tiny-llada", "llada", seed=0)

A folder holds what the real Hub folder holds, minus the remote code: ``config.json`` (every key of the real one,
sizes shrunk by `TINY_SIZES`), ``generation_config.json`` (its token ids), ``model.safetensors`` (seeded weights
under the official key names), and the tokenizer: ``tokenizer.json`` for LLaDA, ``vocab.json`` + ``merges.txt`` +
``tokenizer_config.json`` for Dream (as the real ones). The tokenizer is a byte-level BPE trained on a few sentences
(it encodes any text) plus each model's special tokens, and, like Dream's, Dream's model vocabulary is larger than
its tokenizer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from .native_checkpoint import QWEN2_PATTERN, build_model

#: LLaDA-8B-Instruct's config.json (the keys the official code reads), sizes to be overridden.
LLADA_CONFIG: dict[str, Any] = {
    "activation_type": "silu", "alibi": False, "alibi_bias_max": 8.0, "architectures": ["LLaDAModelLM"],
    "attention_dropout": 0.0, "attention_layer_norm": False, "attention_layer_norm_with_affine": True,
    "auto_map": {"AutoConfig": "configuration_llada.LLaDAConfig", "AutoModel": "modeling_llada.LLaDAModelLM",
                 "AutoModelForCausalLM": "modeling_llada.LLaDAModelLM"},
    "bias_for_layer_norm": False, "block_group_size": 1, "block_type": "llama", "d_model": 4096,
    "embedding_dropout": 0.0, "embedding_size": 126464, "eos_token_id": 126081, "flash_attention": False,
    "include_bias": False, "include_qkv_bias": False, "init_cutoff_factor": None, "init_device": "meta",
    "init_fn": "mitchell", "init_std": 0.02, "input_emb_norm": False, "layer_norm_type": "rms",
    "layer_norm_with_affine": True, "mask_token_id": 126336, "max_sequence_length": 4096, "mlp_hidden_size": 12288,
    "mlp_ratio": 4, "model_type": "llada", "multi_query_attention": None, "n_heads": 32, "n_kv_heads": 32,
    "n_layers": 32, "pad_token_id": 126081, "precision": "amp_bf16", "residual_dropout": 0.0, "rms_norm_eps": 1e-05,
    "rope": True, "rope_full_precision": True, "rope_theta": 500000.0, "scale_logits": False,
    "torch_dtype": "bfloat16", "transformers_version": "4.46.2", "use_cache": False, "vocab_size": 126464,
    "weight_tying": False,
}
#: Dream-v0-Instruct-7B's config.json, sizes to be overridden.
DREAM_CONFIG: dict[str, Any] = {
    "architectures": ["DreamModel"], "attention_dropout": 0.0,
    "auto_map": {"AutoConfig": "configuration_dream.DreamConfig", "AutoModel": "modeling_dream.DreamModel"},
    "bos_token_id": 151643, "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 3584,
    "initializer_range": 0.02, "intermediate_size": 18944, "mask_token_id": 151666, "max_position_embeddings": 131072,
    "max_window_layers": 28, "model_type": "Dream", "num_attention_heads": 28, "num_hidden_layers": 28,
    "num_key_value_heads": 4, "pad_token_id": 151643, "rms_norm_eps": 1e-06, "rope_scaling": None,
    "rope_theta": 1000000.0, "sliding_window": None, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
    "transformers_version": "4.46.2", "use_cache": False, "use_sliding_window": False, "vocab_size": 152064,
}
#: Sizes of the tiny models (a few MB): grouped-query attention kept for Dream, as in the real model.
TINY_SIZES: dict[str, dict[str, Any]] = {
    "llada": {"d_model": 64, "n_heads": 4, "n_kv_heads": 4, "n_layers": 2, "mlp_hidden_size": 96},
    "dream": {"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2,
              "intermediate_size": 96},
}
#: Special tokens of each tokenizer (ids follow the BPE vocabulary, in this order).
LLADA_SPECIALS = ("<|startoftext|>", "<|endoftext|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
                  "<|mdm_mask|>")
DREAM_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|beginoftext|>", "<|mask|>")
LLADA_TEMPLATE = ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
                  "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
                  "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
                  "{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}")
DREAM_TEMPLATE = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
                  "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
                  "{% endif %}")
#: Text the tiny tokenizers' merges are learnt from (any text still encodes, byte by byte at worst).
CORPUS = ("Reply with the list only, as a JSON array of strings. The people waiting in line are given in order. "
          "Copy the list, shuffle it, reverse it, sort it, insert or remove or replace an item at a position. "
          '["Anna Smith", "Bob Jones", "a", "b", "c", "d", "e", "f"] user assistant system 0 1 2 3 4 5 6 7 8 9')
BPE_VOCABULARY = 400
#: Rows Dream's tiny output layer has beyond its tokenizer (the real model has 397).
DREAM_EXTRA_ROWS = 37


def _byte_level_bpe(specials: tuple[str, ...]) -> Any:
    """Train a small byte-level BPE (Qwen2's pre-tokenisation) with `specials` appended, deterministically."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    backend = Tokenizer(models.BPE())
    backend.normalizer = normalizers.NFC()
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=BPE_VOCABULARY, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator([CORPUS], trainer=trainer)
    backend.add_special_tokens(list(specials))
    return backend


def _write_tokenizer(folder: Path, kind: str) -> tuple[int, dict[str, int]]:
    """Write the tokenizer files of `kind` into `folder`; return the tokenizer's size and its special ids."""
    specials = LLADA_SPECIALS if kind == "llada" else DREAM_SPECIALS
    backend = _byte_level_bpe(specials)
    ids = {token: backend.token_to_id(token) for token in specials}
    if kind == "llada":
        backend.save(str(folder / "tokenizer.json"))
        settings = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
                    "add_bos_token": False, "add_eos_token": False, "chat_template": LLADA_TEMPLATE,
                    "tokenizer_class": "PreTrainedTokenizerFast"}
    else:
        backend.model.save(str(folder))  # vocab.json and merges.txt, without the special tokens
        settings = {"bos_token": "<|beginoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
                    "mask_token": "<|mask|>", "chat_template": DREAM_TEMPLATE, "tokenizer_class": "DreamTokenizer",
                    "auto_map": {"AutoTokenizer": ["tokenization_dream.DreamTokenizer", None]},
                    "added_tokens_decoder": {str(token_id): {"content": token, "special": True, "lstrip": False,
                                                             "rstrip": False, "normalized": False,
                                                             "single_word": False}
                                             for token, token_id in ids.items()}}
    (folder / "tokenizer_config.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return backend.get_vocab_size(), ids


def checkpoint_config(kind: str, tokenizer_size: int, ids: Mapping[str, int],
                      sizes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return the config.json of a `kind` checkpoint whose tokenizer has `tokenizer_size` ids.

    Args:
        kind: ``llada`` or ``dream``.
        tokenizer_size: Ids of the tokenizer.
        ids: Its special tokens' ids (the config's token ids are set to match).
        sizes: Overrides of the model sizes (default `TINY_SIZES`).
    """
    if kind == "llada":
        config = {**LLADA_CONFIG, **(sizes or TINY_SIZES["llada"])}
        config.update(vocab_size=tokenizer_size, embedding_size=tokenizer_size, eos_token_id=ids["<|endoftext|>"],
                      pad_token_id=ids["<|endoftext|>"], mask_token_id=ids["<|mdm_mask|>"])
    elif kind == "dream":
        config = {**DREAM_CONFIG, **(sizes or TINY_SIZES["dream"])}
        config.update(vocab_size=tokenizer_size + DREAM_EXTRA_ROWS, bos_token_id=ids["<|endoftext|>"],
                      eos_token_id=ids["<|endoftext|>"], pad_token_id=ids["<|endoftext|>"],
                      mask_token_id=ids["<|mask|>"])
    else:
        raise ValueError(f"kind must be 'llada' or 'dream'; got {kind!r}")
    return config


def randomize_(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Fill every parameter with seeded normal values, in place, scaled so that every layer matters.

    Matrices get std 1/sqrt(fan-in) (unit-variance outputs, so attention scores are of order 1 and attention is far
    from uniform: positions and masks change the logits visibly), embeddings std 1, biases std 0.1, norm weights
    1 +- 0.1. A check run on weights of std 0.02 would pass with a wrong rotary base.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if "norm" in name or "ln_f" in name:
                parameter.copy_(1 + 0.1 * noise)
            elif parameter.dim() == 1:
                parameter.copy_(0.1 * noise)
            elif "wte" in name or "embed_tokens" in name:
                parameter.copy_(noise)
            else:
                parameter.copy_(noise / parameter.shape[1] ** 0.5)
    return model


def write_random_checkpoint(folder: str | Path, kind: str, seed: int = 0,
                            sizes: Mapping[str, Any] | None = None) -> Path:
    """Write a random-weight `kind` checkpoint folder (config.json, model.safetensors, tokenizer files).

    Args:
        folder: Where to write (created).
        kind: ``llada`` or ``dream``.
        seed: Seeds the weights.
        sizes: Model sizes (default `TINY_SIZES`; keys of the official config.json).

    Returns:
        The folder.
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = checkpoint_config(kind, *_write_tokenizer(folder, kind), sizes)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    generation = {key: config[key] for key in ("bos_token_id", "eos_token_id", "pad_token_id", "mask_token_id")
                  if key in config}
    (folder / "generation_config.json").write_text(json.dumps(generation, indent=2) + "\n", encoding="utf-8")
    model = randomize_(build_model(config), seed)
    save_file({name: tensor.contiguous() for name, tensor in model.state_dict().items()},
              str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder
