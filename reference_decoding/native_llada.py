"""LLaDA in plain PyTorch: bidirectional LLaMA-style blocks under LLaDA's official parameter names.

The module tree mirrors the official checkpoint (``model.transformer.wte``, ``model.transformer.blocks.N.q_proj``,
..., ``model.transformer.ff_out``), so the safetensors shards of GSAI-ML/LLaDA-8B-Instruct or LLaDA 1.5 load by their
own key names. What one block computes, as LLaDA's ``LLaDALlamaBlock`` does::

    h = x + attn_out(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n)))     n = attn_norm(x)
    y = h + ff_out(silu(ff_proj(m)) * up_proj(m))                                  m = ff_norm(h)

with RMS norms in float32 and the rotary rotation in float32 (``rope_full_precision``). One difference on purpose:
the official code passes no mask to attention, so a row's logits change with the padding of its batch-mates; here
padding keys are never attended to and positions count from each row's first real token, so a padded row gets the
logits it gets alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional

from ..errors import UsageError
from .native_layers import RMSNorm, attend, key_mask, positions_from_mask, rotary_tables, rotate

MODEL_TYPE = "llada"
#: The defaults of LLaDA's ``ModelConfig`` for the keys read here (used when config.json leaves a key out).
OFFICIAL_DEFAULTS: dict[str, Any] = {
    "d_model": 768, "n_heads": 12, "n_kv_heads": None, "n_layers": 12, "mlp_ratio": 4, "mlp_hidden_size": None,
    "activation_type": "swiglu", "block_type": "sequential", "block_group_size": 1, "alibi": False, "rope": False,
    "rope_full_precision": True, "multi_query_attention": None, "attention_layer_norm": False,
    "input_emb_norm": False, "layer_norm_type": "default", "layer_norm_with_affine": True, "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0, "include_qkv_bias": False, "include_bias": False, "bias_for_layer_norm": None,
    "scale_logits": False, "vocab_size": 50257, "embedding_size": 50304, "weight_tying": True,
}
#: The options LLaDA uses and this implementation reproduces (any other value is refused).
REQUIRED: dict[str, Any] = {
    "block_type": "llama", "layer_norm_type": "rms", "activation_type": "silu", "rope": True, "alibi": False,
    "attention_layer_norm": False, "block_group_size": 1, "layer_norm_with_affine": True,
    "multi_query_attention": None,
}


@dataclass(frozen=True)
class LLaDAConfig:
    """The fields of LLaDA's config.json this implementation reads (official key names).

    Attributes:
        d_model: Width of the residual stream.
        n_layers: Blocks.
        n_heads: Query heads.
        n_kv_heads: Key/value heads (grouped-query attention when fewer than `n_heads`).
        mlp_hidden_size: Width of the gated MLP.
        vocab_size: Tokens of the tokenizer's vocabulary.
        embedding_size: Rows of the embedding and output layers (>= `vocab_size`; the logits' width).
        rope_theta: Rotary base.
        rms_norm_eps: Epsilon of the RMS norms.
        include_bias: Biases on every linear layer.
        include_qkv_bias: Biases on the query, key and value projections.
        weight_tying: The output layer reuses the token embedding.
        rope_full_precision: Rotate queries and keys in float32.
        input_emb_norm: Scale the embeddings by sqrt(d_model).
        scale_logits: Divide the logits by sqrt(d_model).
    """

    d_model: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    mlp_hidden_size: int
    vocab_size: int
    embedding_size: int
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    include_bias: bool = False
    include_qkv_bias: bool = False
    weight_tying: bool = False
    rope_full_precision: bool = True
    input_emb_norm: bool = False
    scale_logits: bool = False

    @classmethod
    def from_json(cls, config: Mapping[str, Any]) -> LLaDAConfig:
        """Read LLaDA's config.json (absent keys take the official defaults), refusing options not reproduced here.

        Raises:
            ValueError: An option other than LLaDA's (a non-llama block, ALiBi, a LayerNorm other than RMS, ...).
        """
        settings = {**OFFICIAL_DEFAULTS, **config}
        for key, value in REQUIRED.items():
            if settings[key] != value:
                raise UsageError(f"LLaDA config: {key}={settings[key]!r} is not supported (only {value!r})")
        if settings["bias_for_layer_norm"]:
            raise UsageError("LLaDA config: bias_for_layer_norm=true is not supported")
        d_model, n_heads = int(settings["d_model"]), int(settings["n_heads"])
        return cls(
            d_model=d_model, n_layers=int(settings["n_layers"]), n_heads=n_heads,
            n_kv_heads=int(settings["n_kv_heads"] or n_heads),
            mlp_hidden_size=int(settings["mlp_hidden_size"] or int(settings["mlp_ratio"]) * d_model),
            vocab_size=int(settings["vocab_size"]),
            embedding_size=int(settings["embedding_size"] or settings["vocab_size"]),
            rope_theta=float(settings["rope_theta"]), rms_norm_eps=float(settings["rms_norm_eps"]),
            include_bias=bool(settings["include_bias"]), include_qkv_bias=bool(settings["include_qkv_bias"]),
            weight_tying=bool(settings["weight_tying"]), rope_full_precision=bool(settings["rope_full_precision"]),
            input_emb_norm=bool(settings["input_emb_norm"]), scale_logits=bool(settings["scale_logits"]))

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads


class LLaDABlock(torch.nn.Module):
    """One LLaMA-style block under LLaDA's key names (``attn_norm``, ``q_proj``, ..., ``ff_out``)."""

    def __init__(self, config: LLaDAConfig) -> None:
        super().__init__()
        self.config = config
        qkv_bias = config.include_bias or config.include_qkv_bias
        kv_width = config.n_kv_heads * config.head_dim
        self.attn_norm = RMSNorm(config.d_model, config.rms_norm_eps)
        self.q_proj = torch.nn.Linear(config.d_model, config.d_model, bias=qkv_bias)
        self.k_proj = torch.nn.Linear(config.d_model, kv_width, bias=qkv_bias)
        self.v_proj = torch.nn.Linear(config.d_model, kv_width, bias=qkv_bias)
        self.attn_out = torch.nn.Linear(config.d_model, config.d_model, bias=config.include_bias)
        self.ff_norm = RMSNorm(config.d_model, config.rms_norm_eps)
        self.ff_proj = torch.nn.Linear(config.d_model, config.mlp_hidden_size, bias=config.include_bias)
        self.up_proj = torch.nn.Linear(config.d_model, config.mlp_hidden_size, bias=config.include_bias)
        self.ff_out = torch.nn.Linear(config.mlp_hidden_size, config.d_model, bias=config.include_bias)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor], keys: torch.Tensor | None
                ) -> torch.Tensor:
        batch, length, _ = x.shape
        heads, kv_heads, width = self.config.n_heads, self.config.n_kv_heads, self.config.head_dim
        normed = self.attn_norm(x)
        q = self.q_proj(normed).view(batch, length, heads, width).transpose(1, 2)
        k = self.k_proj(normed).view(batch, length, kv_heads, width).transpose(1, 2)
        v = self.v_proj(normed).view(batch, length, kv_heads, width).transpose(1, 2)
        cos, sin = rope
        if self.config.rope_full_precision:
            q, k = rotate(q.float(), cos, sin).to(q.dtype), rotate(k.float(), cos, sin).to(k.dtype)
        else:
            q, k = rotate(q, cos.to(q.dtype), sin.to(q.dtype)), rotate(k, cos.to(k.dtype), sin.to(k.dtype))
        x = x + self.attn_out(attend(q, k, v, keys))
        normed = self.ff_norm(x)
        return x + self.ff_out(functional.silu(self.ff_proj(normed)) * self.up_proj(normed))


class LLaDATransformer(torch.nn.Module):
    """The ``model`` of the checkpoint: its ``transformer`` holds ``wte``, ``blocks``, ``ln_f`` and ``ff_out``."""

    def __init__(self, config: LLaDAConfig) -> None:
        super().__init__()
        parts = {"wte": torch.nn.Embedding(config.embedding_size, config.d_model),
                 "blocks": torch.nn.ModuleList(LLaDABlock(config) for _ in range(config.n_layers)),
                 "ln_f": RMSNorm(config.d_model, config.rms_norm_eps)}
        if not config.weight_tying:
            parts["ff_out"] = torch.nn.Linear(config.d_model, config.embedding_size, bias=config.include_bias)
        self.transformer = torch.nn.ModuleDict(parts)


class LLaDAModel(torch.nn.Module):
    """LLaDA as a masked LM: ``forward(input_ids, attention_mask, position_ids)`` returns (B, S, V) logits."""

    def __init__(self, config: LLaDAConfig) -> None:
        super().__init__()
        self.config = config
        self.model = LLaDATransformer(config)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Return the logits of every position, (B, S, `embedding_size`).

        Args:
            input_ids: (B, S) token ids.
            attention_mask: (B, S), nonzero on real tokens; padding keys are never attended to.
            position_ids: (B, S) rotary positions; default: counted from each row's first real token.
        """
        parts = self.model.transformer
        x = parts["wte"](input_ids)
        if self.config.input_emb_norm:
            x = x * (self.config.d_model ** 0.5)
        if position_ids is None:
            position_ids = positions_from_mask(attention_mask, input_ids.shape, input_ids.device)
        rope = rotary_tables(position_ids, self.config.head_dim, self.config.rope_theta)
        keys = key_mask(attention_mask)
        for block in parts["blocks"]:
            x = block(x, rope, keys)
        x = parts["ln_f"](x)
        logits = functional.linear(x, parts["wte"].weight) if self.config.weight_tying else parts["ff_out"](x)
        if self.config.scale_logits:
            logits = logits * (1 / math.sqrt(self.config.d_model))
        return logits
