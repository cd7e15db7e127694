"""Neural decoding speed: answer tokens/s through the engine, and the engine's overhead over bare forward calls.

Builds a randomly initialised masked LM of realistic size from a transformers config (ModernBERT; no download,
no weights), wraps it in the generic `MaskedLM` adapter, and decodes a batch of answers with the engine. The
engine's cost beyond the model is everything a step adds to its forward pass: building the inputs, the float64
softmax and the proposal on the device, the copies to numpy, and the engine's own selection. It is measured
against the same number of bare forward calls (equal NFE) on the same inputs:

    overhead = engine seconds / bare-forward seconds - 1          (target <= 5% on a GPU)

Prompts have different lengths, so every call also pays for left padding and its attention mask. Timings
synchronise the device, follow an untimed warm-up, and are the best of ``--repeats`` runs. Nothing here fails on
a slow result; it prints numbers and the target beside them.

Usage::

    python benchmarks/decoding.py                 # GPU: LLaDA-8B-sized ModernBERT in bf16 (no GPU: the small config)
    python benchmarks/decoding.py --small         # a tiny config that runs in seconds on a CPU
    python benchmarks/decoding.py --hidden 2048 --layers 24 --heads 16 --ff 5632 --vocab 50368   # 1.3B
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable, Sequence

import numpy as np

from parallelbench.reference_decoding.engine import decode
from parallelbench.reference_decoding.masked_lm import MaskedLM, MaskedLMDenoiser, logits_of, torch
from parallelbench.reference_decoding.neural import synchronize

TARGET_OVERHEAD = 0.05
#: (hidden, layers, heads, feed-forward, vocabulary) of the default GPU model (LLaDA-8B's sizes: about 7.5B
#: parameters as a ModernBERT) and of ``--small``.
REALISTIC = (4096, 32, 32, 12288, 126464)
SMALL = (64, 2, 4, 128, 1024)


def build_model(hidden: int, layers: int, heads: int, ff: int, vocab: int, device: torch.device,
                dtype: torch.dtype) -> torch.nn.Module:
    """Return a randomly initialised ModernBERT masked LM built from a config, on `device` in `dtype`."""
    import transformers

    config = transformers.ModernBertConfig(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=ff,
        vocab_size=vocab, pad_token_id=0, bos_token_id=1, eos_token_id=2, sep_token_id=2, cls_token_id=1,
        max_position_embeddings=8192)
    with device:
        model = transformers.ModernBertForMaskedLM(config)
    return model.to(dtype).eval()


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
    parser.add_argument("--small", action="store_true", help="a tiny config for the CPU (what the tests run)")
    parser.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    parser.add_argument("--hidden", type=int)
    parser.add_argument("--layers", type=int)
    parser.add_argument("--heads", type=int)
    parser.add_argument("--ff", type=int)
    parser.add_argument("--vocab", type=int)
    parser.add_argument("--batch", type=int, default=None, help="samples per batch (default 8; 2 with --small)")
    parser.add_argument("--prompt", type=int, default=None, help="longest prompt in tokens (default 256; 16 small)")
    parser.add_argument("--answer", type=int, default=None, help="answer slots (default 256; 16 with --small)")
    parser.add_argument("--tokens-per-step", type=int, nargs="*", default=None, help="default: 1 4 16")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    small = args.small or device.type != "cuda"
    dims = [given if given is not None else default
            for given, default in zip((args.hidden, args.layers, args.heads, args.ff, args.vocab),
                                      SMALL if small else REALISTIC)]
    batch = args.batch or (2 if small else 8)
    prompt_length = args.prompt or (16 if small else 256)
    answer = args.answer or (16 if small else 256)
    settings = args.tokens_per_step or ([1, 4, 16] if not small else [1, 4])
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    torch.manual_seed(0)
    model = build_model(*dims, device=device, dtype=dtype)
    parameters = sum(parameter.numel() for parameter in model.parameters())
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"ModernBERT, random weights: {parameters / 1e6:,.1f}M parameters, {dtype}, on {device} ({gpu}); "
          f"batch {batch}, prompts up to {prompt_length} tokens, {answer} answer slots, vocabulary {dims[4]}")
    if small and not args.small and args.hidden is None:
        print("no GPU: using the small CPU config (pass --device cuda on a GPU machine for the realistic one)")

    vocab = dims[4]
    lm = MaskedLM(model=model, mask_id=vocab - 1, pad_id=0, encode=lambda row: [], decode=lambda row, ids: "",
                  answer_length=lambda row: answer, position_ids=True)
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
