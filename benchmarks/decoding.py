"""Neural decoding speed: answer tokens/s through the engine, and the engine's overhead over bare forward calls.

Builds a LLaDA or Dream model of a real size with random weights (the native implementations of
`reference_decoding.native_llada` / `native_dream`; no download, no weights: parameters are allocated on the device
in the run's dtype and filled with seeded noise), wraps it in `MaskedLM` with the family's conventions, and decodes a
batch of answers with the engine. The engine's cost beyond the model is everything a step adds to its forward pass:
building the inputs, the float64 softmax and the proposal on the device, the copies to numpy, and the engine's own
selection. It is measured against the same number of bare forward calls (equal NFE) on the same inputs:

    overhead = engine seconds / bare-forward seconds - 1          (target <= 5% on a GPU)

Prompts have different lengths, so every call also pays for left padding and its attention mask. Timings
synchronise the device, follow an untimed warm-up, and are the best of ``--repeats`` runs. Nothing here fails on
a slow result; it prints numbers and the target beside them.

Usage::

    python benchmarks/decoding.py                         # GPU: LLaDA 8B in bf16 (no GPU: the tiny size on the CPU)
    python benchmarks/decoding.py --arch dream            # Dream 7B
    python benchmarks/decoding.py --arch llada --size 1b  # a 1.65B LLaDA (hidden 2048, 22 blocks)
    python benchmarks/decoding.py --small                 # the tiny size, seconds on a CPU (what the tests run)
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from parallelbench.reference_decoding.engine import decode
from parallelbench.reference_decoding.masked_lm import MaskedLM, MaskedLMDenoiser, logits_of, torch
from parallelbench.reference_decoding.native_checkpoint import build_model
from parallelbench.reference_decoding.neural import synchronize
from parallelbench.reference_decoding.random_checkpoints import DREAM_CONFIG, LLADA_CONFIG, TINY_SIZES

TARGET_OVERHEAD = 0.05
#: Model sizes per architecture: the real one (8.02B, 7.62B), a small one (1.65B, 1.78B) and the tiny one (keys of
#: the official config.json).
SIZES: dict[str, dict[str, dict[str, Any]]] = {
    "llada": {
        "8b": {},  # LLaDA-8B-Instruct's own config
        "1b": {"d_model": 2048, "n_heads": 16, "n_kv_heads": 16, "n_layers": 22, "mlp_hidden_size": 5632},
        "tiny": {**TINY_SIZES["llada"], "vocab_size": 1024, "embedding_size": 1024},
    },
    "dream": {
        "7b": {},  # Dream-v0-Instruct-7B's own config
        "1b": {"hidden_size": 1536, "num_attention_heads": 12, "num_key_value_heads": 2, "num_hidden_layers": 28,
               "intermediate_size": 8960},
        "tiny": {**TINY_SIZES["dream"], "vocab_size": 1024},
    },
}
BASE_CONFIGS = {"llada": LLADA_CONFIG, "dream": DREAM_CONFIG}


def build_random(arch: str, size: str, device: torch.device, dtype: torch.dtype, seed: int = 0) -> torch.nn.Module:
    """Return a native `arch` model of `size` with seeded random weights, allocated directly on `device` in `dtype`.

    Raises:
        ValueError: An unknown architecture or size.
    """
    if arch not in SIZES or size not in SIZES[arch]:
        known = ", ".join(f"{name} ({'/'.join(sizes)})" for name, sizes in SIZES.items())
        raise ValueError(f"unknown architecture/size {arch}/{size}; known: {known}")
    with torch.device("meta"):
        model = build_model({**BASE_CONFIGS[arch], **SIZES[arch][size]})
    model = model.to(dtype).to_empty(device=device)  # cast while still on meta: no float32 copy is ever allocated
    generator = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "norm" in name or "ln_f" in name:
                parameter.fill_(1.0)
            else:
                parameter.normal_(0.0, 0.02, generator=generator)
    return model.eval().requires_grad_(False)


def best_of(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Return the fastest of `repeats` synchronised runs of `fn`, in seconds, after one untimed warm-up."""
    fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        synchronize(device)
        started = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=sorted(SIZES), default="llada")
    parser.add_argument("--size", default=None, help="llada: 8b, 1b, tiny; dream: 7b, 1b, tiny (default: the real "
                                                     "size on a GPU, tiny on a CPU)")
    parser.add_argument("--small", action="store_true", help="the tiny size (what the tests run)")
    parser.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    parser.add_argument("--batch", type=int, default=None, help="samples per batch (default 8; 2 tiny)")
    parser.add_argument("--prompt", type=int, default=None, help="longest prompt in tokens (default 256; 16 tiny)")
    parser.add_argument("--answer", type=int, default=None, help="answer slots (default 256; 16 tiny)")
    parser.add_argument("--tokens-per-step", type=int, nargs="*", default=None, help="default: 1 4 16 (1 4 tiny)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of torch on the CPU (default 1: steadier "
                                                             "timings of small models on a shared machine)")
    args = parser.parse_args(argv)

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    real_size = next(iter(SIZES[args.arch]))
    size = "tiny" if args.small else args.size or (real_size if device.type == "cuda" else "tiny")
    small = size == "tiny"
    batch = args.batch or (2 if small else 8)
    prompt_length = args.prompt or (16 if small else 256)
    answer = args.answer or (16 if small else 256)
    settings = args.tokens_per_step or ([1, 4] if small else [1, 4, 16])
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    model = build_random(args.arch, size, device, dtype)
    parameters = sum(parameter.numel() for parameter in model.parameters())
    vocab = model.config.embedding_size if args.arch == "llada" else model.config.vocab_size
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"{args.arch} {size}, random weights: {parameters / 1e6:,.1f}M parameters, {dtype}, on {device} ({gpu}); "
          f"batch {batch}, prompts up to {prompt_length} tokens, {answer} answer slots, vocabulary {vocab}")
    if small and not args.small and args.size is None:
        print(f"no GPU: using the tiny size on the CPU (on a GPU machine the default is {real_size})")

    lm = MaskedLM(model=model, mask_id=vocab - 1, pad_id=0, encode=lambda row: [], decode=lambda row, ids: "",
                  answer_length=lambda row: answer, shift=args.arch == "dream", position_ids=True)
    rng = np.random.default_rng(0)
    lengths = np.linspace(prompt_length, max(1, prompt_length // 2), batch).astype(int)
    prompts = [rng.integers(3, vocab - 1, size=length).tolist() for length in lengths]
    denoiser = MaskedLMDenoiser(lm, prompts, answer)
    inputs = denoiser.model_inputs(np.zeros((batch, answer), dtype=np.int64), np.ones((batch, answer), dtype=bool))

    @torch.inference_mode()
    def bare(calls: int) -> None:
        for _ in range(calls):
            logits_of(model(**inputs))

    print(f"\n{'rule':<11} {'T':>3} {'k':>4} {'NFE':>5} {'bare s':>9} {'engine s':>9} {'overhead':>9} "
          f"{'answer tok/s':>13}   target overhead <= {TARGET_OVERHEAD:.0%}")
    for rule, temperature in (("confidence", 0.0), ("random", 1.0)):
        for k in settings:
            calls = -(-answer // k)
            bare_seconds = best_of(lambda: bare(calls), device, args.repeats)
            engine_seconds = best_of(
                lambda: decode(denoiser, batch, answer, tokens_per_step=k, rule=rule, temperature=temperature),
                device, args.repeats)
            overhead = engine_seconds / bare_seconds - 1
            print(f"{rule:<11} {temperature:>3g} {k:>4} {calls:>5} {bare_seconds:>9.4f} {engine_seconds:>9.4f} "
                  f"{overhead:>8.1%} {batch * answer / engine_seconds:>13,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
