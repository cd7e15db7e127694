"""A denoiser for any masked language model that returns logits for a whole sequence.

The sequence the model sees is ``[left padding][prompt ids][answer slots]``, every still-masked slot holding the
model's mask id. One call of `MaskedLMDenoiser.propose` is one forward pass (one NFE): it reads the logits of the
answer slots (shifted by one position for models that predict the *next* token there, such as Dream), blocks the
mask token (and any other token the model must never write), and turns them into the engine's `Proposal`.

The proposal follows `engine.summarize` exactly, computed with torch on the model's device:

* probabilities are ``softmax(logits / T)`` in float64 (``softmax(logits)`` at T = 0), then rounded to
  ``softmax_dtype`` (``"bfloat16"`` reproduces the ties of LLaDA's and Dream's half-precision softmax);
* T > 0: the value is drawn by inverse CDF with one uniform per slot from the engine's seeded generator, so it is
  the same draw as `engine.summarize` makes and never depends on the device or on tensor order;
* T = 0: the value is the argmax; among exactly equal maxima one is picked uniformly with one seeded uniform per
  slot (the k-th tied token, k = floor(u * ties), counted in vocabulary order);
* confidence, margin (top-1 minus top-2) and entropy are read from that same distribution.

Only the masked slots are computed (a revealed slot reports its own value with confidence 1), and only four
(B, L) arrays cross back to numpy, so the engine's own work per step stays small next to the forward pass.

Batches hold prompts of different lengths: they are padded on the left, with an attention mask, and with position
ids counted from each prompt's first real token for models that take them, so a batched row decodes exactly as it
would alone.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UsageError
from .engine import SOFTMAX_DTYPES, Proposal

MISSING_TORCH = (
    "neural reference decoding needs PyTorch (and transformers for Hugging Face models): "
    "pip install 'parallelbench[decoding]'"
)
try:
    import torch
except ImportError as error:  # keep `import parallelbench` light: only the neural path needs torch
    raise ImportError(MISSING_TORCH) from error

#: How the attention mask is handed to the model: ``"2d"`` (B, S) as Hugging Face models take it; ``"pairwise"``
#: (B, 1, S, S) booleans, as Dream's own generation code builds it; ``"none"`` for a model that takes no mask.
ATTENTION_FORMATS: tuple[str, ...] = ("2d", "pairwise", "none")


@dataclass
class MaskedLM:
    """A masked LM with everything needed to decode a benchmark row with it.

    Attributes:
        model: A torch module called as ``model(input_ids=..., attention_mask=..., position_ids=...)`` (the last two
            only when used) that returns (B, S, V) logits, or an output object with ``.logits``, or a tuple whose
            first item is the logits.
        mask_id: The token id of a masked slot.
        pad_id: The token id used for left padding (never attended to).
        encode: ``row -> prompt ids`` (the chat template applied, where the model has one).
        decode: ``(row, answer ids) -> text``; called on the ids before the first stop id.
        answer_length: ``row -> number of answer slots``.
        stop_ids: End-of-text ids; the answer is cut at the first one before it is decoded and scored.
        blocked_ids: Ids besides `mask_id` whose logits are set to -inf (tokens the model must never write).
        shift: True for models whose logits at position i predict position i + 1 (Dream): slot j then reads the
            logits of the position before it.
        attention: One of `ATTENTION_FORMATS`.
        position_ids: Pass position ids counted from each prompt's first real token (needed for absolute position
            embeddings; RoPE models such as LLaDA are unaffected by left padding without them).
        softmax_dtype: Precision the probabilities are rounded to, one of `engine.SOFTMAX_DTYPES`.
        name: A label for reports.
    """

    model: Any
    mask_id: int
    pad_id: int
    encode: Callable[[Mapping[str, Any]], list[int]]
    decode: Callable[[Mapping[str, Any], Sequence[int]], str]
    answer_length: Callable[[Mapping[str, Any]], int]
    stop_ids: tuple[int, ...] = ()
    blocked_ids: tuple[int, ...] = ()
    shift: bool = False
    attention: str = "2d"
    position_ids: bool = False
    softmax_dtype: str = "float64"
    name: str = "masked-lm"

    def __post_init__(self) -> None:
        if self.attention not in ATTENTION_FORMATS:
            raise UsageError(f"attention must be one of {', '.join(ATTENTION_FORMATS)}; got {self.attention!r}")
        if self.softmax_dtype not in SOFTMAX_DTYPES:
            raise UsageError(f"softmax_dtype must be one of {', '.join(SOFTMAX_DTYPES)}; got {self.softmax_dtype!r}")

    @property
    def device(self) -> torch.device:
        """The device of the model's parameters (CPU for a parameterless model)."""
        parameter = next(iter(self.model.parameters()), None) if hasattr(self.model, "parameters") else None
        return parameter.device if parameter is not None else torch.device("cpu")

    def model_inputs(self, input_ids: torch.Tensor, attention: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Return the keyword arguments of one forward pass, in this model's conventions.

        Args:
            input_ids: (B, S) token ids on the model's device.
            attention: (B, S) booleans, False on padding; None when nothing is padded.

        Returns:
            ``input_ids`` and, as the model needs them, ``attention_mask`` (in the `attention` format) and
            ``position_ids`` (counted from each row's first real token).
        """
        inputs = {"input_ids": input_ids}
        if attention is not None and self.attention == "2d":
            inputs["attention_mask"] = attention.long()
        elif attention is not None and self.attention == "pairwise":
            pairwise = attention[:, None, :, None] & attention[:, None, None, :]
            # A padding query attends to itself only, so no row of the mask is empty (an all-masked row gives NaN).
            eye = torch.eye(pairwise.shape[-1], dtype=torch.bool, device=pairwise.device)
            inputs["attention_mask"] = pairwise | eye
        if self.position_ids:
            real = attention if attention is not None else torch.ones_like(input_ids, dtype=torch.bool)
            inputs["position_ids"] = (real.long().cumsum(dim=1) - 1).clamp_(min=0)
        return inputs

    @torch.inference_mode()
    def logits(self, input_ids: Any, attention_mask: Any = None) -> torch.Tensor:
        """Run the model once and return its raw logits.

        Padding is honoured: with `attention_mask` zero on (left) padding, each row gets the logits it gets alone,
        and positions count from its first real token. Nothing is shifted or blocked: for Dream (`shift`), the
        logits at position i predict token i + 1.

        Args:
            input_ids: (B, S) token ids (a tensor, an array or nested lists).
            attention_mask: (B, S), nonzero on real tokens; None when no row is padded.

        Returns:
            A (B, S, V) float tensor on the model's device, V the model's output width (which may exceed the
            tokenizer's vocabulary).
        """
        ids = torch.as_tensor(input_ids, dtype=torch.long, device=self.device)
        if ids.dim() != 2:
            raise UsageError(f"input_ids must be (batch, sequence); got shape {tuple(ids.shape)}")
        attention = None
        if attention_mask is not None:
            attention = torch.as_tensor(attention_mask, device=self.device).bool()
            if attention.shape != ids.shape:
                raise UsageError(f"attention_mask has shape {tuple(attention.shape)}, input_ids {tuple(ids.shape)}")
            attention = None if bool(attention.all()) else attention
        return logits_of(self.model(**self.model_inputs(ids, attention)))

    def answer_text(self, row: Mapping[str, Any], ids: Sequence[int]) -> str:
        """Return the text of decoded answer ids, cut at the first stop id.

        Args:
            row: The row the answer belongs to.
            ids: The answer slots' token ids, in order.

        Returns:
            The decoded text (what gets scored).
        """
        ids = [int(token) for token in ids]
        for position, token in enumerate(ids):
            if token in self.stop_ids:
                ids = ids[:position]
                break
        return self.decode(row, ids)


def accepts_position_ids(model: Any) -> bool:
    """Return whether `model`'s forward takes a ``position_ids`` argument."""
    try:
        return "position_ids" in inspect.signature(model.forward).parameters
    except (TypeError, ValueError, AttributeError):
        return False


def logits_of(output: Any) -> torch.Tensor:
    """Return the logits tensor of a model output (a tensor, an object with ``.logits``, or a tuple)."""
    if isinstance(output, torch.Tensor):
        return output
    if hasattr(output, "logits"):
        return output.logits
    return output[0]


def _probabilities(logits: torch.Tensor, temperature: float, softmax_dtype: str) -> torch.Tensor:
    """Float64 ``softmax(logits / T)`` rounded to `softmax_dtype`, as `engine.summarize` reads probabilities."""
    scaled = logits.to(torch.float64)
    if temperature > 0 and temperature != 1:
        scaled = scaled / temperature
    probs = torch.softmax(scaled, dim=-1)
    if softmax_dtype != "float64":
        probs = probs.to(getattr(torch, softmax_dtype)).to(torch.float64)
    return probs


def propose_from_logits(logits: torch.Tensor, temperature: float, uniforms: torch.Tensor,
                        softmax_dtype: str = "float64") -> tuple[torch.Tensor, ...]:
    """Turn the logits of N slots into (value, confidence, margin, entropy), the torch twin of `engine.summarize`.

    Args:
        logits: (N, V) logits, blocked tokens already at -inf.
        temperature: 0 for the argmax with a seeded tie-break, > 0 to sample from ``softmax(logits / T)``.
        uniforms: (N,) float64 uniforms in [0, 1) from the engine's generator, one per slot.
        softmax_dtype: Precision of the probabilities.

    Returns:
        Four (N,) tensors: int64 values and float64 confidence, margin and entropy.
    """
    if temperature < 0:
        raise UsageError(f"temperature must be >= 0; got {temperature!r}")
    probs = _probabilities(logits, temperature, softmax_dtype)
    if temperature > 0:
        cdf = torch.cumsum(probs, dim=-1)
        draw = (uniforms * cdf[:, -1]).unsqueeze(-1)
        value = torch.searchsorted(cdf, draw, right=True).squeeze(-1).clamp_(max=probs.shape[-1] - 1)
    else:
        top = probs.max(dim=-1, keepdim=True)
        value = top.indices.squeeze(-1)
        ties = (probs == top.values).sum(dim=-1)
        tied_rows = torch.nonzero(ties > 1).squeeze(-1)
        if len(tied_rows):  # rare outside half precision: only these rows pay for the tie-break
            tied = probs[tied_rows] == top.values[tied_rows]
            pick = torch.minimum((uniforms[tied_rows] * ties[tied_rows]).long(), ties[tied_rows] - 1)
            rank_among_ties = torch.cumsum(tied, dim=-1) - 1  # the pick-th tied token, counted from 0
            value[tied_rows] = (tied & (rank_among_ties == pick.unsqueeze(-1))).to(torch.uint8).argmax(dim=-1)
    confidence = probs.gather(-1, value.unsqueeze(-1)).squeeze(-1)
    if probs.shape[-1] > 1:
        top_two = torch.topk(probs, 2, dim=-1).values
        margin = top_two[:, 0] - top_two[:, 1]
    else:
        margin = probs[:, 0]
    entropy = torch.special.entr(probs).sum(dim=-1)
    return value, confidence, margin, entropy


def left_pad(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Left-pad token id lists to one length.

    Args:
        sequences: Token id lists (at least one).
        pad_id: The id written into the padding.

    Returns:
        ``(ids, attention)``: (B, S) int64 ids and (B, S) bool, False on padding.
    """
    width = max(len(sequence) for sequence in sequences)
    ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    attention = np.zeros((len(sequences), width), dtype=bool)
    for row, sequence in enumerate(sequences):
        if len(sequence):
            ids[row, width - len(sequence):] = sequence
            attention[row, width - len(sequence):] = True
    return ids, attention


class MaskedLMDenoiser:
    """The engine's `Denoiser` for one batch of prompts decoded by a `MaskedLM`.

    Build one per batch; `engine.decode(denoiser, len(prompts), length, ...)` then drives it.
    """

    def __init__(self, lm: MaskedLM, prompts: Sequence[Sequence[int]], length: int) -> None:
        """Prepare the padded prompts on the model's device.

        Args:
            lm: The model and its token conventions.
            prompts: One prompt id list per sample.
            length: Answer slots per sample.
        """
        if not prompts:
            raise UsageError("a batch needs at least one prompt")
        if length < 1:
            raise UsageError(f"length must be at least 1; got {length!r}")
        if lm.shift and min(len(prompt) for prompt in prompts) < 1:
            raise UsageError("a shifted model needs at least one prompt token before the answer")
        self.lm = lm
        self.length = length
        self.device = lm.device
        ids, attention = left_pad(prompts, lm.pad_id)
        self.prompt_width = ids.shape[1]
        self.prompt_ids = torch.from_numpy(ids).to(self.device)
        full_attention = np.concatenate([attention, np.ones((len(prompts), length), dtype=bool)], axis=1)
        self.padded = not full_attention.all()
        self.attention = torch.from_numpy(full_attention).to(self.device)
        self.blocked = torch.tensor(sorted({lm.mask_id, *lm.blocked_ids}), dtype=torch.long, device=self.device)

    def _samples(self, tokens: np.ndarray, masked: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        """Check the shapes of one call and return the batch indices of its samples."""
        batch = self.prompt_ids.shape[0]
        rows = np.arange(batch) if rows is None else np.asarray(rows, dtype=np.int64)
        if tokens.shape != (len(rows), self.length) or masked.shape != tokens.shape:
            raise UsageError(
                f"expected tokens and masked of shape ({len(rows)}, {self.length}); got {tokens.shape} and "
                f"{masked.shape} (this denoiser holds {batch} prompts: pass `rows` when decoding fewer)")
        return rows

    def model_inputs(self, tokens: np.ndarray, masked: np.ndarray,
                     rows: np.ndarray | None = None) -> dict[str, torch.Tensor]:
        """Return the keyword arguments of one forward pass over the full sequences.

        Args:
            tokens: (B, L) current slot values.
            masked: (B, L) True where a slot is still masked (it then holds the mask id).
            rows: The batch indices of these B samples (all of them, in order, when None).

        Returns:
            ``input_ids`` and, as the model needs them, ``attention_mask`` and ``position_ids``.
        """
        tokens, masked = np.asarray(tokens), np.asarray(masked, dtype=bool)
        index = torch.from_numpy(self._samples(tokens, masked, rows)).to(self.device)
        answer = torch.from_numpy(np.where(masked, self.lm.mask_id, tokens).astype(np.int64)).to(self.device)
        input_ids = torch.cat([self.prompt_ids[index], answer], dim=1)
        return self.lm.model_inputs(input_ids, self.attention[index] if self.padded else None)

    def _answer_logits(self, tokens: np.ndarray, masked: np.ndarray, rows: np.ndarray | None) -> torch.Tensor:
        """One forward pass; return a view of the (B, L, V) logits that predict the answer slots."""
        logits = logits_of(self.lm.model(**self.model_inputs(tokens, masked, rows)))
        start = self.prompt_width - (1 if self.lm.shift else 0)
        return logits[:, start:start + self.length]

    @torch.inference_mode()
    def slot_logits(self, tokens: np.ndarray, masked: np.ndarray, rows: np.ndarray | None = None) -> torch.Tensor:
        """Run the model once and return the (B, L, V) logits of the answer slots, blocked ids at -inf.

        Args:
            tokens: (B, L) current slot values.
            masked: (B, L) True where a slot is still masked.
            rows: The batch indices of these B samples (all of them, in order, when None).
        """
        logits = self._answer_logits(tokens, masked, rows).clone()
        logits[..., self.blocked] = -torch.inf
        return logits

    @torch.inference_mode()
    def propose(self, tokens: np.ndarray, masked: np.ndarray, temperature: float, rng: np.random.Generator,
                rows: np.ndarray | None = None) -> Proposal:
        """One forward pass: propose a value and its scores for every masked slot (see the module docstring).

        Args:
            tokens: (B, L) current slot values.
            masked: (B, L) True where a slot is still masked.
            temperature: 0 for argmax values, > 0 to sample.
            rng: The engine's generator; one uniform per slot is drawn from it.
            rows: The batch indices of these B samples, when they are not the whole batch in order (samples that
                finish early under the ``threshold`` and ``factor`` rules drop out of later calls).

        Returns:
            The `Proposal`; revealed slots report their own value with confidence 1, margin 1 and entropy 0.
        """
        masked = np.asarray(masked, dtype=bool)
        uniforms = rng.random(masked.shape)
        where = torch.from_numpy(masked).to(self.device)
        selected = self._answer_logits(tokens, masked, rows)[where]  # (masked slots, V): a copy, safe to edit
        selected[:, self.blocked] = -torch.inf
        value, confidence, margin, entropy = propose_from_logits(
            selected, temperature, torch.from_numpy(uniforms[masked]).to(self.device), self.lm.softmax_dtype)
        proposal = Proposal(
            value=np.array(tokens, dtype=np.int64, copy=True),
            confidence=np.ones(masked.shape),
            margin=np.ones(masked.shape),
            entropy=np.zeros(masked.shape),
        )
        proposal.value[masked] = value.cpu().numpy()
        proposal.confidence[masked] = confidence.cpu().numpy()
        proposal.margin[masked] = margin.cpu().numpy()
        proposal.entropy[masked] = entropy.cpu().numpy()
        return proposal
