"""Dream in plain PyTorch: Qwen2-style blocks without a causal mask, under Dream's official parameter names.

The module tree mirrors the official checkpoint (``model.embed_tokens``, ``model.layers.N.self_attn.q_proj``, ...,
``lm_head``), so the safetensors shards of Dream-org/Dream-v0-Instruct-7B load by their own key names. One layer,
as Dream's ``DreamDecoderLayer`` computes it::

    h = x + o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n)))     n = input_layernorm(x)
    y = h + down_proj(silu(gate_proj(m)) * up_proj(m))                          m = post_attention_layernorm(h)

Query, key and value projections carry biases (Qwen2); the rotary tables are computed in float32 and rounded to the
weights' dtype before the rotation, as in the official code. Dream was adapted from an autoregressive model, so the
logits at position i predict token i + 1 (the *shifted-logits convention*): slot j of an answer reads the logits
of position j - 1, which `MaskedLM.shift` does. Padding keys are never attended to and positions count from each
row's first real token, as Dream's own generation code arranges it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional

from ..errors import UsageError
from .native_layers import RMSNorm, attend, key_mask, positions_from_mask, rotary_tables, rotate

MODEL_TYPE = "dream"


@dataclass(frozen=True)
class DreamConfig:
    """The fields of Dream's config.json this implementation reads (official key names and defaults).

    Attributes:
        hidden_size: Width of the residual stream.
        num_hidden_layers: Layers.
        num_attention_heads: Query heads.
        num_key_value_heads: Key/value heads (grouped-query attention).
        intermediate_size: Width of the gated MLP.
        vocab_size: Rows of the embedding and output layers (the logits' width; Dream's is larger than its
            tokenizer).
        rope_theta: Rotary base.
        rms_norm_eps: Epsilon of the RMS norms.
        tie_word_embeddings: The output layer reuses the token embedding.
    """

    hidden_size: int = 4096
    num_hidden_layers: int = 32
    num_attention_heads: int = 32
    num_key_value_heads: int = 32
    intermediate_size: int = 22016
    vocab_size: int = 151936
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-6
    tie_word_embeddings: bool = False

    @classmethod
    def from_json(cls, config: Mapping[str, Any]) -> DreamConfig:
        """Read Dream's config.json, refusing the options this implementation does not reproduce.

        Raises:
            ValueError: RoPE scaling, sliding-window attention or an activation other than SiLU.
        """
        if config.get("rope_scaling"):
            raise UsageError(f"Dream config: rope_scaling={config['rope_scaling']!r} is not supported")
        if config.get("use_sliding_window"):
            raise UsageError("Dream config: use_sliding_window=true is not supported")
        if config.get("hidden_act", "silu") != "silu":
            raise UsageError(f"Dream config: hidden_act={config['hidden_act']!r} is not supported (only 'silu')")
        fields = {name: type(default)(config[name]) for name, default in vars(cls()).items() if config.get(name)
                  is not None}
        if config.get("num_key_value_heads") is None and "num_attention_heads" in config:
            fields["num_key_value_heads"] = int(config["num_attention_heads"])
        return cls(**fields)

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


class DreamAttention(torch.nn.Module):
    """Self-attention under Dream's key names (``q_proj``, ``k_proj``, ``v_proj`` with biases; ``o_proj``)."""

    def __init__(self, config: DreamConfig) -> None:
        super().__init__()
        self.config = config
        kv_width = config.num_key_value_heads * config.head_dim
        self.q_proj = torch.nn.Linear(config.hidden_size, config.hidden_size, bias=True)
        self.k_proj = torch.nn.Linear(config.hidden_size, kv_width, bias=True)
        self.v_proj = torch.nn.Linear(config.hidden_size, kv_width, bias=True)
        self.o_proj = torch.nn.Linear(config.hidden_size, config.hidden_size, bias=False)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor], keys: torch.Tensor | None
                ) -> torch.Tensor:
        batch, length, _ = x.shape
        heads, kv_heads = self.config.num_attention_heads, self.config.num_key_value_heads
        width = self.config.head_dim
        q = self.q_proj(x).view(batch, length, heads, width).transpose(1, 2)
        k = self.k_proj(x).view(batch, length, kv_heads, width).transpose(1, 2)
        v = self.v_proj(x).view(batch, length, kv_heads, width).transpose(1, 2)
        cos, sin = rope
        return self.o_proj(attend(rotate(q, cos, sin), rotate(k, cos, sin), v, keys))


class DreamMLP(torch.nn.Module):
    """The gated MLP under Dream's key names (``gate_proj``, ``up_proj``, ``down_proj``)."""

    def __init__(self, config: DreamConfig) -> None:
        super().__init__()
        self.gate_proj = torch.nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = torch.nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = torch.nn.Linear(config.intermediate_size, config.hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(functional.silu(self.gate_proj(x)) * self.up_proj(x))


class DreamLayer(torch.nn.Module):
    """One decoder layer without a causal mask (``input_layernorm``, ``self_attn``, ``post_attention_layernorm``,
    ``mlp``)."""

    def __init__(self, config: DreamConfig) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.self_attn = DreamAttention(config)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.mlp = DreamMLP(config)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor], keys: torch.Tensor | None
                ) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), rope, keys)
        return x + self.mlp(self.post_attention_layernorm(x))


class DreamBase(torch.nn.Module):
    """The ``model`` of the checkpoint: ``embed_tokens``, ``layers`` and the final ``norm``."""

    def __init__(self, config: DreamConfig) -> None:
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = torch.nn.ModuleList(DreamLayer(config) for _ in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)


class DreamModel(torch.nn.Module):
    """Dream: ``forward(input_ids, attention_mask, position_ids)`` returns (B, S, V) logits, position i predicting
    token i + 1."""

    def __init__(self, config: DreamConfig) -> None:
        super().__init__()
        self.config = config
        self.model = DreamBase(config)
        if not config.tie_word_embeddings:
            self.lm_head = torch.nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Return the logits of every position, (B, S, `vocab_size`), unshifted (as the official model returns them).

        Args:
            input_ids: (B, S) token ids.
            attention_mask: (B, S), nonzero on real tokens; padding keys are never attended to.
            position_ids: (B, S) rotary positions; default: counted from each row's first real token.
        """
        x = self.model.embed_tokens(input_ids)
        if position_ids is None:
            position_ids = positions_from_mask(attention_mask, input_ids.shape, input_ids.device)
        cos, sin = rotary_tables(position_ids, self.config.head_dim, self.config.rope_theta)
        rope = (cos.to(x.dtype), sin.to(x.dtype))  # rounded to the weights' dtype once, as the official code does
        keys = key_mask(attention_mask)
        for layer in self.model.layers:
            x = layer(x, rope, keys)
        x = self.model.norm(x)
        head = self.model.embed_tokens.weight if self.config.tie_word_embeddings else self.lm_head.weight
        return functional.linear(x, head)
