"""Load real dLLMs (LLaDA, Dream) and other Hugging Face masked LMs as a `MaskedLM`, from local files only.

    lm = load_masked_lm("GSAI-ML/LLaDA-8B-Instruct")        # from the Hugging Face cache (never downloads)
    lm = load_masked_lm("/models/Dream-v0-Instruct-7B")     # or from a local folder
    lm = load_masked_lm("runs/tiny")                        # a folder written by train_tiny also works

LLaDA and Dream run on the native implementations of `native_llada` and `native_dream` (their safetensors shards
read by key name, no remote code, any transformers version); any other masked LM through transformers. Each model
family has its own conventions, set here once:

| model | mask token | end of text (answer cut there) | logits | attention mask |
|---|---|---|---|---|
| LLaDA 8B Instruct, LLaDA 1.5 | ``<|mdm_mask|>`` (126336) | ``<|endoftext|>``, ``<|eot_id|>`` | at the slot | (B, S) + position ids |
| Dream v0 Instruct 7B | the tokenizer's mask token | ``<|endoftext|>``, ``<|im_end|>`` | at the slot before (shift) | (B, S) + position ids |
| any other masked LM | the tokenizer's mask token | the tokenizer's end/sep tokens | at the slot | (B, S) + position ids |

Ids past the tokenizer's vocabulary (Dream's output layer is 397 rows wider than its tokenizer) are never proposed.
Prompts are the row's chat ``messages`` through the tokenizer's chat template (with the generation prompt), or
the plain ``prompt`` for a tokenizer without one. Models run in bf16 on CUDA by default (float32 on the CPU).
Nothing is downloaded unless ``download=True``; a model that is not on disk raises `FileNotFoundError` saying how
to get it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .masked_lm import MaskedLM, accepts_position_ids, torch
from .native_checkpoint import NATIVE_ARCHITECTURES, has_tokenizer_files, load_native_model, load_tokenizer
from .tiny import is_tiny_folder, load_tiny

MISSING_TRANSFORMERS = "loading Hugging Face models needs transformers: pip install 'parallelbench[decoding]'"
#: Hub ids of the models the paper evaluates (any local folder or other id works too).
KNOWN_MODELS: dict[str, str] = {
    "llada": "GSAI-ML/LLaDA-8B-Instruct",
    "llada-1.5": "GSAI-ML/LLaDA-1.5",
    "dream": "Dream-org/Dream-v0-Instruct-7B",
}
LLADA_MASK_ID = 126336


def _transformers() -> Any:
    try:
        import transformers
    except ImportError as error:
        raise ImportError(MISSING_TRANSFORMERS) from error
    return transformers


def resolve_model_path(name_or_path: str | Path, download: bool = False) -> Path:
    """Return the local folder of a model: the path itself, or its snapshot in the Hugging Face cache.

    Args:
        name_or_path: A local folder, a Hub id (``GSAI-ML/LLaDA-8B-Instruct``) or a `KNOWN_MODELS` short name.
        download: Fetch the model from the Hub when it is not cached (the only time this module goes online).

    Raises:
        FileNotFoundError: The model is neither a folder nor in the cache (and `download` is off).
    """
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    repo_id = KNOWN_MODELS.get(str(name_or_path), str(name_or_path))
    from huggingface_hub import snapshot_download
    try:
        return Path(snapshot_download(repo_id, local_files_only=not download))
    except Exception as error:  # the hub client raises several types for "not cached" / "no such repo"
        hint = ("" if download else
                f"; download it first (`hf download {repo_id}`), or pass download=True")
        raise FileNotFoundError(f"model {name_or_path!r} is not a local folder and not in the Hugging Face cache"
                                f"{hint} ({type(error).__name__}: {error})") from None


def model_type(folder: Path) -> str:
    """Return the lower-cased ``model_type`` of a model folder's config.json ("" when absent)."""
    config = folder / "config.json"
    if not config.is_file():
        return ""
    return str(json.loads(config.read_text(encoding="utf-8")).get("model_type", "")).lower()


def _token_ids(tokenizer: Any, tokens: Sequence[str]) -> tuple[int, ...]:
    """Ids of the `tokens` the tokenizer knows (unknown ones are left out)."""
    ids = []
    for token in tokens:
        token_id = tokenizer.convert_tokens_to_ids(token)
        if isinstance(token_id, int) and token_id != tokenizer.unk_token_id:
            ids.append(token_id)
    return tuple(dict.fromkeys(ids))


def conventions(kind: str, tokenizer: Any) -> dict[str, Any]:
    """Return a model family's token conventions as `MaskedLM` fields.

    Args:
        kind: ``llada``, ``dream`` or anything else (a generic masked LM).
        tokenizer: The model's tokenizer.

    Returns:
        ``mask_id``, ``pad_id``, ``stop_ids``, ``shift``, ``attention`` and (where fixed) ``position_ids``.
    """
    eos = tokenizer.eos_token_id
    if kind == "llada":
        mask_ids = _token_ids(tokenizer, ["<|mdm_mask|>"])
        stops = _token_ids(tokenizer, ["<|endoftext|>", "<|eot_id|>"])
        return {"mask_id": mask_ids[0] if mask_ids else LLADA_MASK_ID,
                "pad_id": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos,
                "stop_ids": stops or ((eos,) if eos is not None else ()), "shift": False, "attention": "2d",
                "position_ids": True}
    if tokenizer.mask_token_id is None:
        raise UsageError(f"the tokenizer of this {kind or 'model'} has no mask token; it is not a masked LM")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (eos if eos is not None else 0)
    if kind == "dream":
        stops = _token_ids(tokenizer, ["<|endoftext|>", "<|im_end|>"])
        return {"mask_id": tokenizer.mask_token_id, "pad_id": pad,
                "stop_ids": stops or ((eos,) if eos is not None else ()), "shift": True, "attention": "2d",
                "position_ids": True}
    stops = tuple(dict.fromkeys(token for token in (eos, tokenizer.sep_token_id) if token is not None))
    return {"mask_id": tokenizer.mask_token_id, "pad_id": pad, "stop_ids": stops, "shift": False, "attention": "2d"}


def prompt_ids(tokenizer: Any, row: Mapping[str, Any]) -> list[int]:
    """Return a row's prompt ids: its messages through the chat template, or its plain prompt without one."""
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(list(row["messages"]), add_generation_prompt=True, tokenize=False)
        return list(tokenizer(text, add_special_tokens=False)["input_ids"])
    return list(tokenizer(row["prompt"])["input_ids"])


def gold_budget(tokenizer: Any, row: Mapping[str, Any]) -> int:
    """The default answer length: the gold answer's token count plus a quarter (at least 8 tokens) of room."""
    gold = len(tokenizer(row["answer"], add_special_tokens=False)["input_ids"])
    return gold + max(8, gold // 4)


def undecodable_ids(tokenizer: Any, output_width: int | None) -> tuple[int, ...]:
    """Ids the model can output but the tokenizer cannot decode: ``len(tokenizer)`` up to the logits' width.

    Dream's output layer has 152,064 rows, its tokenizer 151,667 ids; proposing one of the others would crash
    decoding, so they are blocked.
    """
    return tuple(range(len(tokenizer), output_width)) if output_width else ()


def from_transformers(model: Any, tokenizer: Any, *, kind: str = "", answer_length: int | None = None,
                      softmax_dtype: str = "float64", name: str = "", output_width: int | None = None) -> MaskedLM:
    """Wrap a loaded model (native or transformers) and its tokenizer as a `MaskedLM`.

    Args:
        model: The model (returns logits for a full sequence).
        tokenizer: Its tokenizer.
        kind: ``llada``, ``dream`` or "" for a generic masked LM (see `conventions`).
        answer_length: Answer slots for every row; None uses `gold_budget` per row.
        softmax_dtype: Precision of the probabilities (``bfloat16`` reproduces the models' own ties).
        name: A label for reports.
        output_width: The logits' width when it may exceed the tokenizer (the ids past it are blocked).
    """
    fields = conventions(kind, tokenizer)
    fields.setdefault("position_ids", accepts_position_ids(model))
    fields["blocked_ids"] = undecodable_ids(tokenizer, output_width)

    def decode(row: Mapping[str, Any], ids: Sequence[int]) -> str:
        return tokenizer.decode(list(ids), skip_special_tokens=True).strip()

    def length(row: Mapping[str, Any]) -> int:
        return answer_length if answer_length is not None else gold_budget(tokenizer, row)

    return MaskedLM(model=model.eval(), encode=lambda row: prompt_ids(tokenizer, row), decode=decode,
                    answer_length=length, softmax_dtype=softmax_dtype, name=name or kind or "masked-lm", **fields)


def without_tokenizer(model: Any, kind: str, folder: Path, *, softmax_dtype: str = "float64",
                      name: str = "") -> MaskedLM:
    """Wrap a native model whose folder has no tokenizer files: `MaskedLM.logits` works, decoding rows does not.

    The mask, padding and end-of-text ids come from config.json (``mask_token_id``, ``pad_token_id``,
    ``eos_token_id``); encoding or decoding a row raises `FileNotFoundError` naming the missing files.
    """
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    eos = config.get("eos_token_id")
    mask = config.get("mask_token_id", LLADA_MASK_ID if kind == "llada" else None)
    if mask is None:
        raise UsageError(f"{folder}: config.json names no mask_token_id and there is no tokenizer to find it")

    def unavailable(*args: Any) -> Any:
        raise FileNotFoundError(f"{folder} has no tokenizer files (tokenizer.json, or vocab.json + merges.txt): "
                                "logits() works, decoding rows needs a tokenizer")

    return MaskedLM(model=model, mask_id=int(mask), pad_id=int(config.get("pad_token_id", eos or 0)),
                    encode=unavailable, decode=unavailable, answer_length=unavailable,
                    stop_ids=(int(eos),) if eos is not None else (), shift=kind == "dream", position_ids=True,
                    softmax_dtype=softmax_dtype, name=name or kind)


def load_masked_lm(name_or_path: str | Path, *, device: str | None = None, dtype: str | None = None,
                   answer_length: int | None = None, softmax_dtype: str = "float64", download: bool = False,
                   trust_remote_code: bool = False) -> MaskedLM:
    """Load a model for `neural.run_model_on_rows`: a tiny-model folder, LLaDA, Dream, or any masked LM.

    LLaDA and Dream (``model_type`` ``llada`` or ``Dream`` in config.json) load into the native implementations of
    `native_checkpoint` (no remote code, any transformers version); any other model through transformers'
    ``AutoModelForMaskedLM``.

    Args:
        name_or_path: A local folder, a Hub id, or a `KNOWN_MODELS` short name (``llada``, ``llada-1.5``, ``dream``).
        device: ``cuda``, ``cpu``, ...; default CUDA when available.
        dtype: Weights' dtype name; default ``bfloat16`` on CUDA and ``float32`` on the CPU.
        answer_length: Answer slots per row; None uses `gold_budget` (tiny models always use the row's units).
        softmax_dtype: Precision of the probabilities.
        download: Allow fetching the model from the Hub.
        trust_remote_code: Let transformers run a model's own code (other masked LMs only; never LLaDA or Dream).

    Returns:
        The `MaskedLM`; its `MaskedLM.logits` gives the raw logits of a batch.
    """
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if is_tiny_folder(name_or_path):
        return load_tiny(name_or_path, device=device)
    folder = resolve_model_path(name_or_path, download=download)
    weights_dtype = getattr(torch, dtype or ("bfloat16" if device.startswith("cuda") else "float32"))
    kind = model_type(folder)
    if kind in NATIVE_ARCHITECTURES:
        model = load_native_model(folder, device=device, dtype=weights_dtype)
        width = model.config.embedding_size if kind == "llada" else model.config.vocab_size
        if not has_tokenizer_files(folder):
            return without_tokenizer(model, kind, folder, softmax_dtype=softmax_dtype, name=str(name_or_path))
        tokenizer = load_tokenizer(folder)
        config_mask = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("mask_token_id")
        if kind == "dream" and tokenizer.mask_token_id is None and config_mask is not None:
            tokenizer.mask_token = tokenizer.convert_ids_to_tokens(int(config_mask))  # config.json names it
        return from_transformers(model, tokenizer, kind=kind, answer_length=answer_length,
                                 softmax_dtype=softmax_dtype, name=str(name_or_path), output_width=width)
    transformers = _transformers()
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, trust_remote_code=trust_remote_code)
    model = transformers.AutoModelForMaskedLM.from_pretrained(folder, trust_remote_code=trust_remote_code,
                                                              dtype=weights_dtype).to(device)
    return from_transformers(model, tokenizer, answer_length=answer_length, softmax_dtype=softmax_dtype,
                             name=str(name_or_path), output_width=getattr(model.config, "vocab_size", None))
