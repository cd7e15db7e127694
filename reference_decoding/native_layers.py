"""The layers LLaDA and Dream share: RMS norm, rotary position tables, bidirectional attention, a gated MLP.

Both are LLaMA-style transformers without a causal mask. Each layer computes what the official model code computes,
operation for operation and in the same precision (float32 norms and rotary tables), so logits agree with the
official code to float32 rounding (checked by ``scripts/check_native_models.py``). Where the official code does
not take an attention mask (LLaDA), these layers still honour one: padding keys are never attended to.
"""

from __future__ import annotations

import torch
from torch.nn import functional


class RMSNorm(torch.nn.Module):
    """Root-mean-square norm, computed in float32 and scaled by a learned weight (the key ``weight``)."""

    def __init__(self, width: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = torch.nn.Parameter(torch.ones(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        normed = x.to(torch.float32)
        normed = normed * torch.rsqrt(normed.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * normed.to(x.dtype)


def rotary_tables(position_ids: torch.Tensor, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Return float32 (cos, sin) of rotary position embeddings, shaped (B, 1, S, head_dim) to broadcast over heads.

    Args:
        position_ids: (B, S) integer positions.
        head_dim: Width of one attention head (even).
        theta: The rotary base (``rope_theta``).
    """
    exponents = torch.arange(0, head_dim, 2, dtype=torch.int64, device=position_ids.device).float() / head_dim
    inverse_frequency = 1.0 / (theta ** exponents)
    angles = position_ids.float()[..., None] * inverse_frequency
    angles = torch.cat((angles, angles), dim=-1)[:, None]
    return angles.cos(), angles.sin()


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Apply rotary embeddings to (B, heads, S, head_dim) queries or keys, in the dtype of `cos` and `sin`."""
    first, second = x.chunk(2, dim=-1)
    return x * cos + torch.cat((-second, first), dim=-1) * sin


def key_mask(attention_mask: torch.Tensor | None) -> torch.Tensor | None:
    """Turn a (B, S) mask (nonzero on real tokens) into the (B, 1, 1, S) boolean keys mask of attention.

    Returns None for no mask (attention then runs its fastest kernel; `MaskedLM.logits` drops an all-ones mask).
    Nothing here waits for the device. A row without any real token attends to everything rather than to nothing
    (which would give NaN).
    """
    if attention_mask is None:
        return None
    keep = attention_mask.bool()
    keep = keep | ~keep.any(dim=-1, keepdim=True)
    return keep[:, None, None, :]


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, keys: torch.Tensor | None) -> torch.Tensor:
    """Bidirectional scaled dot-product attention over (B, heads, S, head_dim) tensors, key/value heads repeated.

    Args:
        q: Queries.
        k: Keys (possibly fewer heads than `q`: grouped-query attention).
        v: Values, as many heads as `k`.
        keys: A (B, 1, 1, S) boolean mask of the keys that may be attended to, or None for all.

    Returns:
        (B, S, heads * head_dim).
    """
    groups = q.shape[1] // k.shape[1]
    if groups > 1:
        k = k.repeat_interleave(groups, dim=1)
        v = v.repeat_interleave(groups, dim=1)
    out = functional.scaled_dot_product_attention(q, k, v, attn_mask=keys, is_causal=False)
    batch, heads, length, width = out.shape
    return out.transpose(1, 2).reshape(batch, length, heads * width)


def positions_from_mask(attention_mask: torch.Tensor | None, shape: torch.Size, device: torch.device) -> torch.Tensor:
    """Return (B, S) positions counted from each row's first real token (0, 1, ... without a mask)."""
    if attention_mask is None:
        return torch.arange(shape[1], device=device).expand(shape[0], -1)
    return (attention_mask.long().cumsum(dim=1) - 1).clamp(min=0)
