"""Load a LLaDA or Dream checkpoint folder into the native models, lazily, without the models' remote code.

    model = load_native_model(folder, device="cuda", dtype=torch.bfloat16)   # chosen by config.json's model_type
    tokenizer = load_tokenizer(folder)

The model is built on the ``meta`` device (no memory), then each safetensors shard is opened in turn and its
tensors are read straight onto `device` in `dtype` and put in place under their official key names, so an 8B
checkpoint in bf16 needs its own size in GPU memory and never an fp32 copy. Every parameter must come from the
checkpoint and every checkpoint tensor must find a parameter; anything else is an error that names the keys.

The tokenizer is read from the folder's own files with the ``tokenizers`` library and wrapped in transformers'
``PreTrainedTokenizerFast`` (for the chat template): ``tokenizer.json`` when present (LLaDA), else the byte-level
BPE files ``vocab.json`` and ``merges.txt`` with the added tokens of ``tokenizer_config.json``, assembled as
Qwen2's tokenizer is (Dream). The models' own tokenizer classes (``DreamTokenizer``) are never imported.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..errors import UsageError
from .native_dream import DreamConfig, DreamModel
from .native_llada import LLaDAConfig, LLaDAModel

#: ``model_type`` (lower-cased) -> (config reader, model class) of the architectures implemented natively.
NATIVE_ARCHITECTURES: dict[str, tuple[Any, type[torch.nn.Module]]] = {
    "llada": (LLaDAConfig.from_json, LLaDAModel),
    "dream": (DreamConfig.from_json, DreamModel),
}
#: Qwen2's pre-tokenisation pattern (Dream's tokenizer is Qwen2's, with Dream's added tokens).
QWEN2_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
                 r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")
SPECIAL_TOKEN_KEYS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


def read_config(folder: str | Path) -> dict[str, Any]:
    """Return a model folder's config.json as a dict.

    Raises:
        FileNotFoundError: The folder has no config.json.
    """
    path = Path(folder) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{folder} has no config.json: not a model folder")
    return json.loads(path.read_text(encoding="utf-8"))


def is_native(config: Mapping[str, Any]) -> bool:
    """Return whether a config.json names an architecture implemented natively (LLaDA or Dream)."""
    return str(config.get("model_type", "")).lower() in NATIVE_ARCHITECTURES


def build_model(config: Mapping[str, Any]) -> torch.nn.Module:
    """Build the native model of a config.json with uninitialised weights on the current default device.

    Raises:
        UsageError: The model type is not LLaDA or Dream, or the config asks for an option not implemented.
    """
    kind = str(config.get("model_type", "")).lower()
    if kind not in NATIVE_ARCHITECTURES:
        raise UsageError(f"model_type {config.get('model_type')!r} has no native implementation "
                         f"(known: {', '.join(NATIVE_ARCHITECTURES)})")
    read, model_class = NATIVE_ARCHITECTURES[kind]
    return model_class(read(config))


def weight_files(folder: str | Path) -> list[Path]:
    """Return a folder's safetensors shards: those of ``model.safetensors.index.json``, or ``model.safetensors``.

    Raises:
        FileNotFoundError: Neither exists (e.g. a folder with PyTorch ``.bin`` weights only).
    """
    folder = Path(folder)
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        names = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        return [folder / name for name in names]
    single = folder / "model.safetensors"
    if single.is_file():
        return [single]
    raise FileNotFoundError(f"{folder} holds no safetensors weights (model.safetensors or "
                            "model.safetensors.index.json); convert .bin weights to safetensors first")


def load_weights(model: torch.nn.Module, folder: str | Path, device: torch.device, dtype: torch.dtype) -> None:
    """Fill a model built on the meta device from a folder's safetensors shards, one shard at a time.

    Args:
        model: The native model (parameters on ``meta``).
        folder: The checkpoint folder.
        device: Where the weights go (read there directly).
        dtype: Their dtype (each tensor is converted alone, on `device`).

    Raises:
        UsageError: The checkpoint lacks parameters of the model or holds tensors the model does not have, or
            a tensor has the wrong shape.
    """
    from safetensors import safe_open

    expected = dict(model.named_parameters())
    unexpected: list[str] = []
    for path in weight_files(folder):
        with safe_open(str(path), framework="pt", device=str(device)) as shard:
            tensors = {}
            for key in shard.keys():
                if key not in expected:
                    unexpected.append(key)
                    continue
                tensor = shard.get_tensor(key)
                if tuple(tensor.shape) != tuple(expected[key].shape):
                    raise UsageError(f"{path.name}: {key} has shape {tuple(tensor.shape)}, the config implies "
                                     f"{tuple(expected[key].shape)}")
                tensors[key] = torch.nn.Parameter(tensor.to(dtype), requires_grad=False)
        model.load_state_dict(tensors, strict=False, assign=True)
    missing = [name for name, parameter in model.named_parameters() if parameter.is_meta]
    if missing or unexpected:
        raise UsageError(f"{folder}: the checkpoint does not match the {type(model).__name__} its config describes: "
                         f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}, "
                         f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")


def load_native_model(folder: str | Path, device: str | torch.device = "cpu",
                      dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    """Load a LLaDA or Dream checkpoint folder into its native model, lazily (see the module docstring).

    Args:
        folder: The folder holding config.json and the safetensors shards.
        device: Where the model runs.
        dtype: The weights' dtype (``torch.bfloat16`` or ``torch.float32``).

    Returns:
        The model in eval mode, gradients off.
    """
    config = read_config(folder)
    with torch.device("meta"):
        model = build_model(config)
    load_weights(model, folder, torch.device(device), dtype)
    return model.eval().requires_grad_(False)


def _token_text(value: Any) -> str | None:
    """The text of a special token as tokenizer_config.json writes it (a string or an ``AddedToken`` dict)."""
    return value.get("content") if isinstance(value, Mapping) else value


def _bpe_tokenizer(folder: Path, added: Mapping[str, Any]) -> Any:
    """Assemble a byte-level BPE tokenizer from vocab.json and merges.txt as Qwen2's is, plus the added tokens."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

    backend = Tokenizer(models.BPE.from_file(str(folder / "vocab.json"), str(folder / "merges.txt"),
                                             unk_token=None, fuse_unk=False, byte_fallback=False))
    backend.normalizer = normalizers.NFC()
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    backend.decoder = decoders.ByteLevel()
    for token_id, token in sorted(added.items(), key=lambda item: int(item[0])):
        if backend.token_to_id(token["content"]) is not None:
            continue
        backend.add_special_tokens([AddedToken(token["content"], single_word=token.get("single_word", False),
                                               lstrip=token.get("lstrip", False), rstrip=token.get("rstrip", False),
                                               normalized=token.get("normalized", False), special=True)])
        if backend.token_to_id(token["content"]) != int(token_id):
            raise UsageError(f"{folder}: added token {token['content']!r} would get id "
                             f"{backend.token_to_id(token['content'])}, tokenizer_config.json says {token_id}")
    return backend


def has_tokenizer_files(folder: str | Path) -> bool:
    """Return whether a folder holds ``tokenizer.json``, or ``vocab.json`` and ``merges.txt``."""
    folder = Path(folder)
    return (folder / "tokenizer.json").is_file() or ((folder / "vocab.json").is_file()
                                                     and (folder / "merges.txt").is_file())


def load_tokenizer(folder: str | Path) -> Any:
    """Load a model folder's tokenizer from its files alone (no remote code, no tokenizer class by name).

    Args:
        folder: Holds ``tokenizer.json``, or ``vocab.json`` and ``merges.txt``; and ``tokenizer_config.json``
            (special tokens, chat template), optionally ``chat_template.jinja``.

    Returns:
        A ``transformers.PreTrainedTokenizerFast``.

    Raises:
        FileNotFoundError: No tokenizer files.
    """
    from transformers import PreTrainedTokenizerFast

    folder = Path(folder)
    config_path = folder / "tokenizer_config.json"
    settings = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    specials = {key: _token_text(settings[key]) for key in SPECIAL_TOKEN_KEYS if settings.get(key) is not None}
    if (folder / "tokenizer.json").is_file():
        tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"), **specials)
    elif (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
        backend = _bpe_tokenizer(folder, settings.get("added_tokens_decoder", {}))
        tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, **specials)
    else:
        raise FileNotFoundError(f"{folder} has no tokenizer.json and no vocab.json + merges.txt")
    template = folder / "chat_template.jinja"
    tokenizer.chat_template = (template.read_text(encoding="utf-8") if template.is_file()
                               else settings.get("chat_template"))
    return tokenizer
