"""The `parallelbench_dllm` lm-eval model type: a masked LM decoded by our engine at a chosen parallelism, in one
process and in two (lm-eval's data parallelism through ``accelerate launch``), on the CPU with a tiny model."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

pytest.importorskip("lm_eval")
torch = pytest.importorskip("torch")

import parallelbench as pb  # noqa: E402
from parallelbench.folder import read_rows  # noqa: E402
from parallelbench.lm_eval_tasks import task_name, write_lm_eval_tasks  # noqa: E402
from parallelbench.reference_decoding.tiny import TinyConfig, TinyDenoiserModel, TinyVocab, save_tiny  # noqa: E402
from word_level_bert import save_word_level_bert  # noqa: E402

TASKS = ["waiting_line/copy", "list_ops/sort", "puzzle/latin_square_n3"]
LM_EVAL_TASKS = [task_name(pb.get_task(task).config_name) for task in TASKS[:2]]
LIMIT = 6


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """An untrained tiny model (its answers vary, so equal answers across runs mean something), a build, its tasks."""
    root = tmp_path_factory.mktemp("dllm")
    rows = pb.generate("waiting_line/copy", n=50, seed=2) + pb.generate("list_ops/sort", n=50, seed=2)
    vocab = TinyVocab.from_rows(rows)
    torch.manual_seed(0)
    model = TinyDenoiserModel(TinyConfig(vocab_size=len(vocab), sep_id=vocab.sep_id, mask_id=vocab.mask_id,
                                         d_model=16, layers=1, heads=2, ff=32))
    save_tiny(model, vocab, root / "tiny")
    folder = pb.build(root / "parallelbench", tasks=TASKS, calibrate=False)
    write_lm_eval_tasks(root / "tasks", folder, folder)
    return root


@pytest.fixture(scope="module")
def task_manager(setup):
    """lm-eval's task index (it reads every task lm-eval ships, so it is built once)."""
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(setup / "tasks"))


def evaluate(root, task_manager, tasks=LM_EVAL_TASKS, **model_args):
    from lm_eval import simple_evaluate

    import parallelbench.lm_eval_dllm  # noqa: F401  (registers the model type)

    model_args = {"pretrained": str(root / "tiny"), **model_args}
    return simple_evaluate(model="parallelbench_dllm", model_args=model_args, tasks=list(tasks), limit=LIMIT,
                           task_manager=task_manager, log_samples=False)


def read_log(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("tokens_per_step", [1, 2, None])
def test_decodes_at_the_asked_parallelism_and_logs_nfe_per_sample(setup, task_manager, tmp_path, tokens_per_step):
    log = tmp_path / "log.jsonl"
    results = evaluate(setup, task_manager, tokens_per_step=tokens_per_step, rule="confidence",
                       log_path=str(log))["results"]
    entries = read_log(log)
    assert len(entries) == LIMIT * len(LM_EVAL_TASKS)
    for entry in entries:
        expected_nfe = 1 if tokens_per_step is None else math.ceil(entry["slots"] / tokens_per_step)
        assert entry["nfe"] == expected_nfe == len(entry["steps"]) and sum(entry["steps"]) == entry["slots"]
        assert entry["tokens_per_step"] == pytest.approx(entry["slots"] / expected_nfe)
    # lm-eval's accuracy is our scorer's verdict on the logged answers
    by_task = {}
    for row in read_rows(setup / "parallelbench"):
        by_task.setdefault(task_name(pb.get_task(row["task"]).config_name), []).append(row)
    for task in LM_EVAL_TASKS:
        answers = [e for e in entries if e["task"] == task]
        correct = [pb.score(by_task[task][e["doc_id"]], e["answer"]).correct for e in answers]
        assert results[task]["accuracy,none"] == pytest.approx(sum(correct) / len(correct))


def test_a_threshold_rule_sizes_its_own_steps(setup, task_manager, tmp_path):
    log = tmp_path / "log.jsonl"
    evaluate(setup, task_manager, tasks=LM_EVAL_TASKS[:1], rule="threshold", threshold=0.0, log_path=str(log))
    assert all(entry["nfe"] == 1 for entry in read_log(log))  # every confidence clears a threshold of 0


def test_a_text_masked_lm_reads_lm_evals_prompt_and_decodes_gen_length_slots(setup, task_manager, tmp_path):
    pytest.importorskip("transformers")
    bert = save_word_level_bert(tmp_path / "bert", letters="ABC", max_position_embeddings=1024)
    log = tmp_path / "log.jsonl"
    results = evaluate(setup, task_manager, tasks=[task_name("puzzle-latin_square_n3")], pretrained=str(bert),
                       gen_length=6, tokens_per_step=3, rule="random", temperature=1, log_path=str(log))
    entries = read_log(log)
    assert len(entries) == LIMIT and all(e["slots"] == 6 and e["nfe"] == 2 and e["steps"] == [3, 3] for e in entries)
    assert results["results"][task_name("puzzle-latin_square_n3")]["accuracy,none"] == 0.0  # an untrained model
    assert results["config"]["decoding"]["tokens_per_step"] == 3


def test_bad_settings_are_refused_before_any_decoding(setup):
    from parallelbench.lm_eval_dllm import DiffusionLM

    with pytest.raises(ValueError, match="rule must be one of"):
        DiffusionLM(pretrained=str(setup / "tiny"), rule="fastest")
    with pytest.raises(ValueError, match="tokens_per_step must be a positive integer"):
        DiffusionLM(pretrained=str(setup / "tiny"), tokens_per_step=0)
    with pytest.raises(FileNotFoundError):
        DiffusionLM(pretrained=str(setup / "no-such-model"))


def test_the_tiny_model_names_the_tasks_it_cannot_read(setup, task_manager):
    with pytest.raises(ValueError, match="the tiny model reads only"):
        evaluate(setup, task_manager, tasks=[task_name("puzzle-latin_square_n3")], tokens_per_step=1)


def run_command(command, cwd):
    environment = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    run = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    return run


def test_two_processes_through_accelerate_give_the_one_process_answers(setup, tmp_path):
    pytest.importorskip("accelerate")
    arguments = ["--model", "parallelbench_dllm", "--include_path", "tasks", "--tasks", *LM_EVAL_TASKS,
                 "--limit", str(LIMIT), "--device", "cpu"]

    def model_args(log):
        return ["--model_args", f"pretrained=tiny,tokens_per_step=2,rule=confidence,temperature=1,log_path={log}"]

    one = run_command([sys.executable, "-m", "parallelbench.lm_eval_dllm", *arguments,
                       *model_args(tmp_path / "one.jsonl"), "--output_path", str(tmp_path / "one")], setup)
    # `accelerate launch --multi_gpu` is what starts one process per device; on a CPU-only machine the model's
    # Accelerator then runs them as CPU processes talking over gloo (`--cpu` would start a single process).
    two = run_command([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                       "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                       "-m", "parallelbench.lm_eval_dllm", *arguments, *model_args(tmp_path / "two.jsonl"),
                       "--output_path", str(tmp_path / "two")], setup)
    single = read_log(tmp_path / "one.jsonl")
    ranks = read_log(tmp_path / "two.jsonl.rank0"), read_log(tmp_path / "two.jsonl.rank1")
    assert all(ranks) and len(ranks[0]) + len(ranks[1]) == len(single) == LIMIT * len(LM_EVAL_TASKS)
    key = lambda entry: (entry["task"], entry["doc_id"])  # noqa: E731
    assert sorted(ranks[0] + ranks[1], key=key) == sorted(single, key=key)
    assert len({entry["answer"] for entry in single}) > 1  # sampled answers vary: equality is not trivial

    def accuracies(folder):
        (path,) = folder.rglob("results_*.json")
        results = json.loads(path.read_text())["results"]
        return {task: results[task]["accuracy,none"] for task in LM_EVAL_TASKS}

    assert accuracies(tmp_path / "one") == accuracies(tmp_path / "two")
    assert "parallelbench_waiting_line-copy" in one.stdout and "parallelbench_waiting_line-copy" in two.stdout
