"""Check the native LLaDA and Dream models against the official model code, on tiny random-weight checkpoints.

For each architecture given, this writes a random-weight checkpoint with the official config keys and key names
(`random_checkpoints.write_random_checkpoint`), copies the official model code into it, loads it twice, with
transformers' ``AutoModel`` and ``trust_remote_code`` (the official code) and with `load_masked_lm` (ours), and
compares the logits of the same random ids in float32:

* unpadded rows: ours must equal the official logits to `TOLERANCE` (exit status 1 otherwise);
* padded rows: each row of a left-padded batch against the same row alone, for ours (must agree to `TOLERANCE`
  times the largest logit, float32 rounding of batched kernels growing with the logits' scale) and for the official
  code (printed only: LLaDA's official code passes no mask to attention, so it does not agree);
* bfloat16: the largest difference between ours and the official code in bf16 (printed only; rounding differs).

The official code is not part of this repository. Point the script at folders holding it, e.g. the model folders
of a Hub download (``hf download GSAI-ML/LLaDA-8B-Instruct --include '*.py'``)::

    python scripts/check_native_models.py --llada LLADA_CODE_DIR --dream DREAM_CODE_DIR

LLADA_CODE_DIR holds modeling_llada.py and configuration_llada.py; DREAM_CODE_DIR holds modeling_dream.py,
configuration_dream.py and generation_utils.py. It needs transformers 4.x (the official code does not load under
5.x), e.g. ``pip install 'transformers>=4.46,<5'`` in a separate environment.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch

from parallelbench.reference_decoding.hf_models import load_masked_lm
from parallelbench.reference_decoding.random_checkpoints import TINY_SIZES, write_random_checkpoint

TOLERANCE = 1e-5
CODE_FILES = {
    "llada": ("modeling_llada.py", "configuration_llada.py"),
    "dream": ("modeling_dream.py", "configuration_dream.py", "generation_utils.py"),
}
#: Each architecture is checked at its tiny size, with grouped-query attention switched the other way, and with the
#: other options of its config the native code reproduces (biases, tied output layer, scaled embeddings/logits).
VARIANTS = {
    "llada": [TINY_SIZES["llada"], {**TINY_SIZES["llada"], "n_kv_heads": 2},
              {**TINY_SIZES["llada"], "include_qkv_bias": True, "weight_tying": True, "input_emb_norm": True,
               "scale_logits": True, "rope_full_precision": False}],
    "dream": [TINY_SIZES["dream"], {**TINY_SIZES["dream"], "num_key_value_heads": 4},
              {**TINY_SIZES["dream"], "tie_word_embeddings": True}],
}


def official_logits(model: torch.nn.Module, kind: str, ids: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Logits of the official model; a padded Dream batch gets the (B, 1, S, S) mask and positions of its own
    generation code, LLaDA the (B, S) mask it is documented to take."""
    with torch.inference_mode():
        if mask is None:
            return model(input_ids=ids).logits.float()
        if kind == "dream":
            pairwise = mask.bool()[:, None, None, :] & mask.bool()[:, None, :, None]
            positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 1)
            return model(input_ids=ids, attention_mask=pairwise, position_ids=positions).logits.float()
        return model(input_ids=ids, attention_mask=mask).logits.float()


def padded_gap(logits_of, ids: torch.Tensor, pad_id: int) -> tuple[float, float]:
    """Compare rows decoded in a left-padded batch with the same rows alone (real tokens only).

    Returns:
        (largest absolute difference, largest absolute logit of the rows alone): float32 rounding of a batched
        kernel grows with the logits' scale, so the difference is judged against it.
    """
    lengths = [ids.shape[1], ids.shape[1] - 5, ids.shape[1] - 11]
    batch = torch.full((len(lengths), ids.shape[1]), pad_id, dtype=torch.long)
    mask = torch.zeros_like(batch)
    for row, length in enumerate(lengths):
        batch[row, -length:] = ids[row, :length]
        mask[row, -length:] = 1
    together = logits_of(batch, mask)
    gap = scale = 0.0
    for row, length in enumerate(lengths):
        alone = logits_of(ids[row:row + 1, :length], None)[0]
        gap = max(gap, (together[row, -length:] - alone).abs().max().item())
        scale = max(scale, alone.abs().max().item())
    return gap, scale


def check(kind: str, code: Path, sizes: dict, seed: int) -> bool:
    """Run every comparison for one architecture and size; print them; return whether ours passed."""
    import transformers

    with tempfile.TemporaryDirectory() as scratch:
        folder = write_random_checkpoint(Path(scratch) / kind, kind, seed=seed, sizes=sizes)
        for name in CODE_FILES[kind]:
            shutil.copy(code / name, folder / name)
        ours = load_masked_lm(folder, device="cpu", dtype="float32")
        theirs = transformers.AutoModel.from_pretrained(folder, trust_remote_code=True,
                                                        dtype=torch.float32).eval()
        vocab = ours.model.config.vocab_size
        ids = torch.randint(0, vocab, (3, 40), generator=torch.Generator().manual_seed(seed))
        exact = (ours.logits(ids) - official_logits(theirs, kind, ids, None)).abs().max().item()
        ours_padded, scale = padded_gap(lambda batch, mask: ours.logits(batch, mask), ids, ours.pad_id)
        theirs_padded, _ = padded_gap(lambda batch, mask: official_logits(theirs, kind, batch, mask), ids,
                                      ours.pad_id)
        bf16_ours = load_masked_lm(folder, device="cpu", dtype="bfloat16")
        bf16_theirs = transformers.AutoModel.from_pretrained(folder, trust_remote_code=True,
                                                             dtype=torch.bfloat16).eval()
        bf16 = (bf16_ours.logits(ids).float() - official_logits(bf16_theirs, kind, ids, None)).abs().max().item()
    padding_tolerance = TOLERANCE * max(1.0, scale)
    passed = exact <= TOLERANCE and ours_padded <= padding_tolerance
    print(f"{kind:<6} {sizes}\n  fp32 max |ours - official|            {exact:.2e}  (tolerance {TOLERANCE:g})"
          f"\n  padded row vs alone, ours              {ours_padded:.2e}  (tolerance {TOLERANCE:g} x largest "
          f"|logit| {scale:.1f})"
          f"\n  padded row vs alone, official code     {theirs_padded:.2e}"
          f"\n  bf16 max |ours - official|             {bf16:.2e}\n  {'PASS' if passed else 'FAIL'}")
    return passed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--llada", type=Path, help="folder with LLaDA's modeling_llada.py and configuration_llada.py")
    parser.add_argument("--dream", type=Path, help="folder with Dream's modeling_dream.py, configuration_dream.py "
                                                   "and generation_utils.py")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    given = {kind: path for kind, path in (("llada", args.llada), ("dream", args.dream)) if path is not None}
    if not given:
        parser.error("give --llada and/or --dream")
    for kind, path in given.items():
        missing = [name for name in CODE_FILES[kind] if not (path / name).is_file()]
        if missing:
            parser.error(f"{path} lacks {', '.join(missing)}")
    torch.manual_seed(args.seed)
    results = [check(kind, path, sizes, args.seed) for kind, path in given.items() for sizes in VARIANTS[kind]]
    print("all passed" if all(results) else "FAILED")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
