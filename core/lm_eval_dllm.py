"""A diffusion LM as an lm-evaluation-harness model type, decoded by ParallelBench's engine at a chosen parallelism.

    python -m parallelbench.lm_eval_dllm --model parallelbench_dllm \\
        --model_args pretrained=runs/tiny,tokens_per_step=2,rule=confidence \\
        --include_path lm_eval_tasks --tasks parallelbench_waiting_line-copy --limit 10
    accelerate launch --num_processes 2 -m parallelbench.lm_eval_dllm ...    # lm-eval's data parallelism

`python -m parallelbench.lm_eval_dllm` is lm-eval's own command line with the model type ``parallelbench_dllm``
registered: lm-eval 0.4 finds model types only in its own package or in modules already imported, so the plain
``lm_eval`` script cannot see it. From Python, importing this module registers it for
``simple_evaluate(model="parallelbench_dllm", ...)``. Needs the ``lm-eval`` and ``decoding`` extras.

``--model_args``:

- ``pretrained``: anything `reference_decoding.hf_models.load_masked_lm` loads: a tiny-model folder, LLaDA, Dream, a
  local masked LM, a known short name (``llada``, ``dream``).
- ``tokens_per_step`` (k per step; ``all`` or unset with no ``steps``: every slot in one step), ``steps`` (T steps in
  total), ``block_length`` (semi-autoregressive blocks), ``rule`` (``random``, ``confidence``, ``margin``,
  ``entropy``, ``threshold``, ``factor``), ``threshold``, ``factor``, ``temperature`` (0 = argmax), ``seed``: the
  engine's settings (`reference_decoding.engine.decode`).
- ``gen_length``: answer slots (default: the request's ``max_gen_toks``; the tiny model always uses the row's units).
- ``log_path``: write one JSON line per sample (task, doc id, answer slots, NFE, realised tokens per step, the
  tokens committed at each step, the answer); with several processes each writes ``<log_path>.rank<r>``.

A model reads the request's text as one user turn through its chat template (the plain text without one); the tiny
model cannot read text and decodes the ParallelBench row itself (only its list tasks). Each sample is decoded alone
with a seed drawn from (seed, its prompt), so its answer does not depend on batching or on how lm-eval splits the
requests over processes: a 2-process run gives the 1-process answers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

try:
    from lm_eval.api.model import LM
    from lm_eval.api.registry import register_model
except ImportError as error:
    raise ImportError("the parallelbench_dllm model type needs lm-eval: pip install 'parallelbench[lm-eval,decoding]'"
                      ) from error

from .errors import UsageError
from .reference_decoding.engine import RULES, decode
from .reference_decoding.hf_models import load_masked_lm
from .reference_decoding.masked_lm import MaskedLMDenoiser, torch
from .reference_decoding.tiny import is_tiny_folder

logger = logging.getLogger(__name__)

#: The model type's name in lm-eval.
MODEL_TYPE = "parallelbench_dllm"
#: Answer slots when neither ``gen_length`` nor the request's ``max_gen_toks`` says.
DEFAULT_GEN_LENGTH = 256


def _optional_int(name: str, value: Any) -> int | None:
    if value is None or (isinstance(value, str) and value.lower() in ("all", "none", "")):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < 1:
        raise UsageError(f"{name} must be a positive integer (or all/none); got {value!r}")
    return int(value)


def sample_seed(seed: int, prompt: str) -> int:
    """The decoding seed of one sample: it depends on (seed, prompt) only, never on batching or process."""
    digest = hashlib.sha256(f"{seed}|{prompt}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def cut_at(text: str, until: Sequence[str]) -> str:
    """Cut `text` at the first occurrence of any stop string."""
    ends = [text.find(stop) for stop in until if stop and stop in text]
    return text[:min(ends)] if ends else text


@register_model(MODEL_TYPE)
class DiffusionLM(LM):
    """lm-eval's ``generate_until`` through ParallelBench's decoding engine (see the module docstring)."""

    def __init__(self, pretrained: str, tokens_per_step: Any = None, steps: Any = None, block_length: Any = None,
                 rule: str = "confidence", threshold: float | None = None, factor: float | None = None,
                 temperature: float = 0.0, gen_length: Any = None, seed: int = 0, log_path: str | None = None,
                 device: str | None = None, batch_size: Any = None, max_batch_size: Any = None) -> None:
        """Load the model and check the decoding settings.

        Args:
            pretrained: The model (see the module docstring).
            tokens_per_step, steps, block_length, rule, threshold, factor, temperature, seed: The engine's settings.
            gen_length: Answer slots per sample (default: the request's ``max_gen_toks``).
            log_path: Where to write the per-sample decoding log (JSON lines).
            device: ``cpu``, ``cuda``, ...; under ``accelerate launch``, each process's own device; CUDA falls back
                to the CPU (with a warning) where there is none.
            batch_size, max_batch_size: Accepted for lm-eval's command line; samples are decoded one at a time.

        Raises:
            ValueError: For a bad setting.
        """
        super().__init__()
        if rule not in RULES:  # fail before loading the model; the engine checks the other settings per decode
            raise UsageError(f"rule must be one of {', '.join(RULES)}; got {rule!r}")
        self.settings = {
            "tokens_per_step": _optional_int("tokens_per_step", tokens_per_step),
            "steps": _optional_int("steps", steps), "block_length": _optional_int("block_length", block_length),
            "rule": str(rule), "threshold": None if threshold is None else float(threshold),
            "factor": None if factor is None else float(factor), "temperature": float(temperature),
        }
        self.seed = int(seed)
        self.gen_length = _optional_int("gen_length", gen_length)
        self.accelerator = None
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            from accelerate import Accelerator  # lm-eval's data parallelism: one full model per process

            self.accelerator = Accelerator(cpu=not torch.cuda.is_available())  # CPU processes talk over gloo
            self._rank, self._world_size = self.accelerator.process_index, self.accelerator.num_processes
            device = "cpu" if self.accelerator.device.type == "cpu" else str(self.accelerator.device)
        if device and device.startswith("cuda") and not torch.cuda.is_available():
            logger.warning("%s: CUDA is not available, decoding on the CPU instead of %s", MODEL_TYPE, device)
            device = "cpu"  # lm-eval's command line passes --device cuda unless told otherwise
        self._device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.tiny = is_tiny_folder(pretrained)
        self.model = load_masked_lm(pretrained, device=str(self._device))
        self.log_path = None
        if log_path:
            self.log_path = Path(f"{log_path}.rank{self.rank}" if self.world_size > 1 else log_path)
        self.decode_log: list[dict[str, Any]] = []

    def _row_and_length(self, request: Any) -> tuple[Mapping[str, Any], int]:
        """The row the model encodes and the answer slots of one request."""
        context, gen_kwargs = request.args
        if self.tiny:
            return request.doc, self.model.answer_length(request.doc)
        row = {"prompt": context, "messages": [{"role": "user", "content": context}]}
        return row, self.gen_length or int(gen_kwargs.get("max_gen_toks", DEFAULT_GEN_LENGTH))

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        """Decode every request at the configured parallelism and return the answers, cut at the stop strings."""
        from tqdm.auto import tqdm

        answers = []
        for request in tqdm(requests, disable=disable_tqdm or self.rank != 0, desc=f"{MODEL_TYPE} decoding"):
            context, gen_kwargs = request.args
            row, length = self._row_and_length(request)
            model = self.model if self.tiny else replace(self.model, answer_length=lambda _row, n=length: n)
            denoiser = MaskedLMDenoiser(model, [model.encode(row)], length)
            result = decode(denoiser, 1, length, **self.settings, seed=sample_seed(self.seed, context))
            until = gen_kwargs.get("until") or []
            answers.append(cut_at(model.answer_text(row, result.tokens[0]), [until] if isinstance(until, str)
                                  else until))
            self.decode_log.append({
                "task": request.task_name, "doc_id": request.doc_id, "slots": length, "nfe": int(result.nfe[0]),
                "tokens_per_step": length / int(result.nfe[0]), "steps": result.tokens_per_step[0],
                "answer": answers[-1],
            })
        self._write_log()
        if self.decode_log:
            logger.info("%s: %d samples, mean NFE %.2f, mean realised tokens per step %.2f", MODEL_TYPE,
                        len(self.decode_log), sum(e["nfe"] for e in self.decode_log) / len(self.decode_log),
                        sum(e["tokens_per_step"] for e in self.decode_log) / len(self.decode_log))
        return answers

    def _write_log(self) -> None:
        if self.log_path is None:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("w", encoding="utf-8") as handle:
            for entry in self.decode_log:
                handle.write(json.dumps(entry) + "\n")

    def get_model_info(self) -> dict[str, Any]:
        """What lm-eval records in its results' config: the decoding settings and this process's mean NFE."""
        info: dict[str, Any] = {"decoding": dict(self.settings, seed=self.seed, gen_length=self.gen_length)}
        if self.decode_log:
            info["mean_nfe"] = sum(e["nfe"] for e in self.decode_log) / len(self.decode_log)
            info["mean_tokens_per_step"] = sum(e["tokens_per_step"] for e in self.decode_log) / len(self.decode_log)
        return info

    def loglikelihood(self, requests: list[Any]) -> list[tuple[float, bool]]:
        raise NotImplementedError(f"{MODEL_TYPE} only generates (generate_until tasks); it scores no likelihoods")

    def loglikelihood_rolling(self, requests: list[Any]) -> list[float]:
        raise NotImplementedError(f"{MODEL_TYPE} only generates (generate_until tasks); it scores no likelihoods")

    # lm-eval's data parallelism (accelerate launch): gather results on rank 0.
    def all_gather(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor if self.accelerator is None else self.accelerator.gather(tensor)

    def gather_object(self, obj: Any, dst: int = 0) -> list[Any] | None:
        if self.accelerator is None:
            return [obj]
        gathered = [None] * self.world_size if self.rank == dst else None
        torch.distributed.gather_object(obj=obj, object_gather_list=gathered, dst=dst)
        return gathered

    def barrier(self) -> None:
        if self.accelerator is not None:
            self.accelerator.wait_for_everyone()


def main(argv: Sequence[str] | None = None) -> None:
    """lm-eval's command line with ``parallelbench_dllm`` registered (same arguments as ``lm_eval``)."""
    from lm_eval.__main__ import cli_evaluate

    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    cli_evaluate()


if __name__ == "__main__":
    main()
