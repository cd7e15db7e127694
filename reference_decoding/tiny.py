"""A tiny masked-diffusion transformer for the CPU, with a word-level vocabulary where one list item is one token.

It reads a compact encoding of a list-operation row (not the English prompt: a model this small cannot read) and
fills the answer's slots, one slot per list item, so its accuracy curves line up with the oracle's, whose units are
list items too. It runs through the same `MaskedLM` adapter and decoding engine as LLaDA and Dream.

Encoding of a row (``reference`` of the waiting-line and list-operation tasks)::

    [op:shuffle] [vocab:names] [pos:2 | NONE] [item | NONE] [SEP] item_1 ... item_n [SEP]   then the answer slots

Items are tokens of their own: the letters and words seen in the training data, and, for people, *name slots*
``name:0`` ... ``name:23``. Full names are too many to give each a token (Faker's tables make millions), so each
row maps its names onto distinct name slots drawn at random, in increasing slot order along the names' sort order
(last name, then first name), which keeps sorting meaningful. The draw is seeded by the row id at evaluation and
fresh on every use in training, so the model must read which slots the prompt uses rather than memorise them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError
from ..generators.waiting_line import OPERATIONS, VOCABULARIES
from ..validators.waiting_line import sort_key
from .masked_lm import MaskedLM, torch

PAD, MASK, SEP, NONE, UNK = "[PAD]", "[MASK]", "[SEP]", "[NONE]", "[UNK]"
SPECIALS: tuple[str, ...] = (PAD, MASK, SEP, NONE, UNK)
#: Distinct people one row can hold (the default tasks need at most 16: a line of 15 plus an inserted one).
NAME_SLOTS = 24
#: Positions a prompt can name (1-based, as the prompts count).
MAX_POSITION = 48
CONFIG_FILE, WEIGHTS_FILE = "tiny_config.json", "tiny_weights.pt"


def _structure_tokens() -> list[str]:
    """Tokens that are never an answer: specials, operations, vocabularies and prompt positions."""
    return [*SPECIALS, *(f"op:{op}" for op in OPERATIONS), *(f"vocab:{name}" for name in VOCABULARIES),
            *(f"pos:{position}" for position in range(1, MAX_POSITION + 1))]


class TinyVocab:
    """The word-level vocabulary: structure tokens, then the item tokens (name slots and data items)."""

    def __init__(self, items: Iterable[str]) -> None:
        """Build the vocabulary.

        Args:
            items: The plain item tokens (letters, words) found in the data; name slots are always added.
        """
        name_slots = [f"name:{slot}" for slot in range(NAME_SLOTS)]
        self.tokens: list[str] = [*_structure_tokens(), *name_slots, *sorted(set(items) - set(name_slots))]
        self.ids = {token: index for index, token in enumerate(self.tokens)}
        if len(self.ids) != len(self.tokens):
            raise UsageError("an item collides with a structure token")
        self.first_item = len(_structure_tokens())

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> TinyVocab:
        """Build the vocabulary from the items of generated rows (people become name slots, not tokens)."""
        items: set[str] = set()
        for row in rows:
            reference = json.loads(row["reference"])
            if reference["vocabulary"] != "names":
                items.update(reference["input"])
                if reference.get("item") is not None:
                    items.add(reference["item"])
        return cls(items)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def mask_id(self) -> int:
        return self.ids[MASK]

    @property
    def pad_id(self) -> int:
        return self.ids[PAD]

    @property
    def sep_id(self) -> int:
        return self.ids[SEP]

    def id_of(self, token: str) -> int:
        """Return a token's id, or the id of ``[UNK]`` for an item never seen in the data."""
        return self.ids.get(token, self.ids[UNK])

    def name_slots(self, reference: Mapping[str, Any], rng: np.random.Generator) -> dict[str, str]:
        """Map a row's people onto distinct name slots, in increasing slot order along their sort order.

        Args:
            reference: The row's reference.
            rng: Draws which slots are used.

        Returns:
            ``{"First Last": "name:7", ...}``; empty for rows that are not about people.
        """
        if reference["vocabulary"] != "names":
            return {}
        people = list(dict.fromkeys([*reference["input"], *([reference["item"]] if reference.get("item") else [])]))
        if len(people) > NAME_SLOTS:
            raise UsageError(f"the tiny model handles at most {NAME_SLOTS} people in a row; got {len(people)}")
        slots = np.sort(rng.choice(NAME_SLOTS, size=len(people), replace=False))
        ordered = sorted(people, key=sort_key("names"))
        return {person: f"name:{slot}" for person, slot in zip(ordered, slots.tolist())}

    def encode(self, reference: Mapping[str, Any], answer: Sequence[str] | None,
               names: Mapping[str, str]) -> tuple[list[int], list[int]]:
        """Return (prompt ids, answer ids) of a row.

        Args:
            reference: The row's reference.
            answer: The answer's items (empty when unknown).
            names: The row's name-slot map (see `name_slots`).
        """
        def item_id(item: str) -> int:
            return self.id_of(names.get(item, item))

        position = reference.get("position")
        item = reference.get("item")
        prompt = [
            self.ids[f"op:{reference['operation']}"], self.ids[f"vocab:{reference['vocabulary']}"],
            self.ids[f"pos:{position}"] if position is not None else self.ids[NONE],
            item_id(item) if item is not None else self.ids[NONE],
            self.ids[SEP], *(item_id(entry) for entry in reference["input"]), self.ids[SEP],
        ]
        return prompt, [item_id(entry) for entry in answer or ()]

    def decode(self, ids: Sequence[int], names: Mapping[str, str]) -> list[str]:
        """Return the items of answer ids, name slots mapped back to the row's people."""
        people = {slot: person for person, slot in names.items()}
        return [people.get(self.tokens[int(token)], self.tokens[int(token)]) for token in ids]


def row_rng(row: Mapping[str, Any]) -> np.random.Generator:
    """Return the generator that draws a row's name slots at evaluation (seeded by the row id)."""
    digest = hashlib.sha256(str(row["id"]).encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


#: The families the tiny model reads: its vocabulary holds list items, not text or grid symbols.
FAMILIES: tuple[str, ...] = ("waiting_line", "list_ops")


def unsupported_reason(row: Mapping[str, Any]) -> str:
    """Return why the tiny model cannot decode a row ("" when it can)."""
    task = str(row.get("task", ""))
    family = task.split("/", 1)[0]
    if family in FAMILIES and "reference" in row:
        return ""
    what = f"{task} is a {family} task" if task else "this is not a ParallelBench row"
    return f"the tiny model reads only {' and '.join(FAMILIES)} rows (its vocabulary holds list items); {what}"


def answer_slots(row: Mapping[str, Any]) -> int:
    """Return the number of answer units of a row: the ``[MASK]`` entries of its output format.

    Raises:
        UsageError: For a row the tiny model cannot decode (see `unsupported_reason`).
    """
    reason = unsupported_reason(row)
    if reason:
        raise UsageError(reason)
    return len(json.loads(row["output_format"]))


@dataclass(frozen=True)
class TinyConfig:
    """Sizes of the tiny transformer.

    Attributes:
        vocab_size: Tokens in the vocabulary.
        sep_id: The id of ``[SEP]``, which splits a sequence into header, input list and answer.
        mask_id: The id of ``[MASK]`` (a masked answer slot covers nothing).
        d_model: Width of the residual stream.
        layers: Transformer blocks.
        heads: Attention heads per block.
        ff: Width of each block's feed-forward layer.
        max_index: Longest segment (header, input list or answer).
    """

    vocab_size: int
    sep_id: int
    mask_id: int
    d_model: int = 96
    layers: int = 3
    heads: int = 4
    ff: int = 384
    max_index: int = 64

    def __post_init__(self) -> None:
        for name in ("vocab_size", "d_model", "layers", "heads", "ff", "max_index"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UsageError(f"{name} must be a positive int; got {value!r}")
        for name in ("sep_id", "mask_id"):
            if not 0 <= getattr(self, name) < self.vocab_size:
                raise UsageError(f"{name} must be a token id below vocab_size; got {getattr(self, name)!r}")
        if self.d_model % self.heads:
            raise UsageError(f"d_model ({self.d_model}) must be a multiple of heads ({self.heads})")


class _Block(torch.nn.Module):
    """A pre-norm transformer block with bidirectional attention."""

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.heads = config.heads
        self.norm1 = torch.nn.LayerNorm(config.d_model)
        self.qkv = torch.nn.Linear(config.d_model, 3 * config.d_model)
        self.out = torch.nn.Linear(config.d_model, config.d_model)
        self.norm2 = torch.nn.LayerNorm(config.d_model)
        self.ff = torch.nn.Sequential(
            torch.nn.Linear(config.d_model, config.ff), torch.nn.GELU(), torch.nn.Linear(config.ff, config.d_model))

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(batch, length, 3, self.heads, width // self.heads).unbind(dim=2)
        attended = torch.nn.functional.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=keep)
        x = x + self.out(attended.transpose(1, 2).reshape(batch, length, width))
        return x + self.ff(self.norm2(x))


class TinyDenoiserModel(torch.nn.Module):
    """The tiny masked-diffusion transformer: bidirectional blocks over token, segment and index embeddings.

    Instead of absolute positions, each token is embedded with its *segment* (header, input list, answer: counted
    by the ``[SEP]`` tokens before it) and its *index* inside that segment, so answer slot j and input item j share
    an index embedding, and with a *coverage* flag: whether the same token already stands in a revealed answer slot
    (as the coverage vector of pointer-generator summarisers tracks what was copied). Index and coverage are what
    let a model of a few hundred thousand parameters learn, in minutes on a CPU, both to copy a list and to use
    each item once; all three are computed from the ids alone, so the model is blind to left padding by
    construction. The output head is tied to the token embedding.
    """

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = torch.nn.Embedding(config.vocab_size, config.d_model)
        self.segment = torch.nn.Embedding(3, config.d_model)
        self.index = torch.nn.Embedding(config.max_index, config.d_model)
        self.covered = torch.nn.Embedding(2, config.d_model)
        self.blocks = torch.nn.ModuleList(_Block(config) for _ in range(config.layers))
        self.norm = torch.nn.LayerNorm(config.d_model)
        for embedding in (self.embed, self.segment, self.index, self.covered):
            torch.nn.init.normal_(embedding.weight, std=0.02)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Return (B, S) x vocabulary logits.

        Args:
            input_ids: (B, S) token ids.
            attention_mask: (B, S), nonzero on real tokens; padding is never attended to (None: no padding).
        """
        real = torch.ones_like(input_ids, dtype=torch.bool) if attention_mask is None else attention_mask.bool()
        position = real.long().cumsum(dim=1) - 1
        is_sep = input_ids == self.config.sep_id
        last_sep = torch.where(is_sep, position, torch.full_like(position, -1)).cummax(dim=1).values
        segment = (is_sep.long().cumsum(dim=1) - is_sep.long()).clamp(max=2)  # a [SEP] closes its segment
        index = (position - last_sep - 1).clamp(min=0, max=self.config.max_index - 1)
        revealed = (segment == 2) & (input_ids != self.config.mask_id) & real
        same = input_ids[:, :, None] == input_ids[:, None, :]
        same &= ~torch.eye(input_ids.shape[1], dtype=torch.bool, device=input_ids.device)
        covered = (same & revealed[:, None, :]).any(dim=-1)
        x = self.embed(input_ids) + self.segment(segment) + self.index(index) + self.covered(covered.long())
        keep = None if attention_mask is None else real[:, None, None, :]
        for block in self.blocks:
            x = block(x, keep)
        return self.norm(x) @ self.embed.weight.T


def parameter_count(model: torch.nn.Module) -> int:
    """Return the number of trainable parameters."""
    return sum(parameter.numel() for parameter in model.parameters())


def tiny_masked_lm(model: TinyDenoiserModel, vocab: TinyVocab, name: str = "tiny") -> MaskedLM:
    """Wrap a tiny model and its vocabulary as a `MaskedLM` that decodes waiting-line and list-operation rows.

    The answer has one slot per answer unit (the row's output format); structure tokens are blocked, so every
    slot holds a list item, and the decoded items are written as the JSON array the prompts ask for.

    Args:
        model: The tiny transformer.
        vocab: Its vocabulary.
        name: A label for reports.
    """
    def encode(row: Mapping[str, Any]) -> list[int]:
        reason = unsupported_reason(row)
        if reason:
            raise UsageError(reason)
        reference = json.loads(row["reference"])
        return vocab.encode(reference, None, vocab.name_slots(reference, row_rng(row)))[0]

    def decode(row: Mapping[str, Any], ids: Sequence[int]) -> str:
        reference = json.loads(row["reference"])
        return json.dumps(vocab.decode(ids, vocab.name_slots(reference, row_rng(row))))

    return MaskedLM(
        model=model.eval(), mask_id=vocab.mask_id, pad_id=vocab.pad_id, encode=encode, decode=decode,
        answer_length=answer_slots, blocked_ids=tuple(range(vocab.first_item)), name=name)


def save_tiny(model: TinyDenoiserModel, vocab: TinyVocab, folder: str | Path, extra: Mapping[str, Any] = ()) -> Path:
    """Write the model's weights and its config (sizes, vocabulary, `extra` facts) to `folder`.

    Returns:
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {"model": asdict(model.config), "tokens": vocab.tokens, **dict(extra)}
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    torch.save(model.state_dict(), folder / WEIGHTS_FILE)
    return folder


def is_tiny_folder(path: str | Path) -> bool:
    """Return whether `path` is a folder written by `save_tiny`."""
    return (Path(path) / CONFIG_FILE).is_file()


def load_tiny(folder: str | Path, device: str = "cpu") -> MaskedLM:
    """Load a model written by `save_tiny` (e.g. by ``python -m parallelbench.reference_decoding.train_tiny``).

    Args:
        folder: The folder holding ``tiny_config.json`` and ``tiny_weights.pt``.
        device: Where to run it.

    Returns:
        The `MaskedLM` (see `tiny_masked_lm`).
    """
    folder = Path(folder)
    if not is_tiny_folder(folder):
        raise FileNotFoundError(f"{folder} holds no tiny model ({CONFIG_FILE} missing); train one with "
                                f"`python -m parallelbench.reference_decoding.train_tiny --out {folder}`")
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    tokens = config["tokens"]
    vocab = TinyVocab(tokens[len(_structure_tokens()):])
    if vocab.tokens != tokens:
        raise UsageError(f"{folder / CONFIG_FILE}: its vocabulary does not match this version of the tiny model")
    model = TinyDenoiserModel(TinyConfig(**config["model"]))
    model.load_state_dict(torch.load(folder / WEIGHTS_FILE, map_location=device, weights_only=True))
    return tiny_masked_lm(model.to(device), vocab, name=f"tiny:{folder.name}")
