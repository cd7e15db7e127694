"""lm-eval itself runs the exported tasks: `simple_evaluate` with language models that answer the gold (1.0
everywhere), echo the input (the expected failures) or write garbage (0), started where the build folder shadows
the package (its parent, as ``python -m`` or a notebook would be)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("lm_eval")

import parallelbench as pb  # noqa: E402
from parallelbench.lm_eval_tasks import write_lm_eval_tasks  # noqa: E402

TASKS = ["waiting_line/copy", "waiting_line/shuffle", "list_ops/reverse", "puzzle/latin_square_n3",
         "puzzle/sudoku_n4_4", "words_to_sentence/easy"]
#: Rows per task lm-eval runs (the text task's grammar check costs milliseconds per answer).
LIMIT = 12

#: Run in a fresh Python whose working directory is the build folder's parent: it defines three LMs and prints
#: lm-eval's per-task accuracy and score for each as JSON.
SCRIPT = textwrap.dedent('''
    import json, sys
    from lm_eval import simple_evaluate
    from lm_eval.api.model import LM
    from lm_eval.tasks import TaskManager


    def echo(doc):
        """Give the input back: the list, the clue grid or symbol row, or the prompt of a text task."""
        reference = json.loads(doc["reference"])
        if "input" in reference:
            return json.dumps(reference["input"])
        if "grid" in reference:
            return "\\n".join(reference["grid"])
        if "symbols" in reference:
            return "\\n".join([",".join(reference["symbols"])] * len(reference["symbols"]))
        return doc["prompt"]


    class Answering(LM):
        def __init__(self, answer):
            super().__init__()
            self.answer = answer

        def generate_until(self, requests):
            return [self.answer(request.doc) for request in requests]

        def loglikelihood(self, requests):
            raise NotImplementedError

        def loglikelihood_rolling(self, requests):
            raise NotImplementedError


    answers = {"gold": lambda doc: doc["answer"], "echo": echo, "garbage": lambda doc: "no idea, sorry"}
    out = {}
    task_manager = TaskManager(include_path=sys.argv[1])
    for name, answer in answers.items():
        results = simple_evaluate(model=Answering(answer), tasks=["parallelbench"], limit=int(sys.argv[2]),
                                  task_manager=task_manager, log_samples=False)["results"]
        out[name] = {task: [values["accuracy,none"], values["score,none"]] for task, values in results.items()}
    print("RESULTS " + json.dumps(out))
''')


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("lm_eval_run")
    folder = pb.build(root / "parallelbench", tasks=TASKS, calibrate=False)
    write_lm_eval_tasks(root / "tasks", folder, folder)
    return root


@pytest.fixture(scope="module")
def results(exported):
    # A cache of its own: `datasets` keys a local folder's cache by its name and config, so another test's build
    # named "parallelbench" would otherwise be served from the shared cache in place of this one.
    environment = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
                   "HF_HOME": str(exported / "hf_home")}
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(exported / "tasks"), str(LIMIT)], cwd=exported,
                         env=environment, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    line = next(line for line in run.stdout.splitlines() if line.startswith("RESULTS "))
    return json.loads(line.removeprefix("RESULTS "))


def lm_eval_task(task):
    return f"parallelbench_{pb.get_task(task).config_name}"


def test_gold_answers_score_one_on_every_task_and_the_group(results):
    assert set(results["gold"]) == {lm_eval_task(task) for task in TASKS} | {"parallelbench"}
    assert all(values == [1.0, 1.0] for values in results["gold"].values()), results["gold"]


def test_echoing_the_input_fails_where_the_input_is_not_the_answer(results):
    echo = results["echo"]
    assert echo[lm_eval_task("waiting_line/copy")][0] == 1.0  # copy's answer is its input
    for task in ("waiting_line/shuffle", "list_ops/reverse", "puzzle/latin_square_n3", "puzzle/sudoku_n4_4",
                 "words_to_sentence/easy"):
        assert echo[lm_eval_task(task)][0] == 0.0, task
    assert echo["parallelbench"][0] == pytest.approx(1 / len(TASKS))


def test_garbage_scores_zero_everywhere(results):
    assert all(values == [0.0, 0.0] for values in results["garbage"].values()), results["garbage"]


def test_without_the_package_the_hooks_name_the_cause_and_the_fix(exported):
    """``python -S`` has no site-packages: the build folder shadows a package that is then not found at all."""
    load = ("import importlib.util; spec = importlib.util.spec_from_file_location('utils', 'tasks/utils.py'); "
            "spec.loader.exec_module(importlib.util.module_from_spec(spec))")
    run = subprocess.run([sys.executable, "-S", "-c", load], cwd=exported, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode != 0
    message = run.stderr.strip().splitlines()[-1]
    assert "shadows the installed parallelbench package" in message and "fix:" in message
