"""lm-evaluation-harness task files: they parse as lm-eval parses them, cover every config, and grade with our scorer."""

from __future__ import annotations

import importlib.util

import pytest
import yaml

import parallelbench as pb
from parallelbench.folder import read_rows
from parallelbench.lm_eval_tasks import write_lm_eval_tasks

TASKS = ["waiting_line/shuffle", "puzzle/latin_square_n3"]
CONFIGS = ["puzzle-latin_square_n3", "waiting_line-shuffle"]


class FunctionTagLoader(yaml.SafeLoader):
    """A safe loader that reads lm-eval's ``!function module.name`` tag, as lm-eval's own loader does."""


FunctionTagLoader.add_constructor("!function", lambda loader, node: ("!function", loader.construct_scalar(node)))


def load_yaml(path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=FunctionTagLoader)


def load_utils(out_dir):
    """Import the written utils.py by file path, the way lm-eval resolves ``!function utils.<name>``."""
    spec = importlib.util.spec_from_file_location("utils", out_dir / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return pb.build(tmp_path_factory.mktemp("b") / "parallelbench", version="9.9.9", tasks=TASKS, calibrate=False)


@pytest.fixture(scope="module")
def written(built, tmp_path_factory):
    out = tmp_path_factory.mktemp("lm_eval")
    return out, write_lm_eval_tasks(out, built, built)


def test_every_config_gets_a_task_and_the_group_lists_them(built, written):
    out, paths = written
    assert [path.name for path in paths] == [f"parallelbench_{name}.yaml" for name in CONFIGS] + [
        "parallelbench.yaml", "utils.py"]
    group = load_yaml(out / "parallelbench.yaml")
    assert group["group"] == "parallelbench"
    assert group["task"] == [f"parallelbench_{name}" for name in CONFIGS]
    assert {"metric": "accuracy", "aggregation": "mean", "weight_by_size": True} in group["aggregate_metric_list"]
    for name in CONFIGS:
        task = load_yaml(out / f"parallelbench_{name}.yaml")
        assert task["task"] == f"parallelbench_{name}"
        assert task["dataset_path"] == str(built.resolve()) and task["dataset_name"] == name
        assert task["test_split"] == "test" and task["output_type"] == "generate_until"
        assert task["doc_to_text"] == ("!function", "utils.doc_to_text")
        assert task["process_results"] == ("!function", "utils.process_results")
        assert task["doc_to_target"] == "answer"
        assert {(m["metric"], m["aggregation"], m["higher_is_better"]) for m in task["metric_list"]} == {
            ("accuracy", "mean", True), ("score", "mean", True)}
        assert task["metadata"] == {"version": "9.9.9"}
        assert "dataset_kwargs" not in task


def test_generation_is_greedy_and_fits_every_gold_answer(built, written):
    out, _ = written
    rows = read_rows(built)
    for name in CONFIGS:
        kwargs = load_yaml(out / f"parallelbench_{name}.yaml")["generation_kwargs"]
        assert kwargs["until"] == ["\n\nUser:"] and kwargs["do_sample"] is False and kwargs["temperature"] == 0.0
        longest = max(len(row["answer"].encode()) for row in rows if pb.get_task(row["task"]).config_name == name)
        assert kwargs["max_gen_toks"] >= 2 * longest and kwargs["max_gen_toks"] % 64 == 0


def test_config_names_give_the_same_tasks_as_the_folder(written, tmp_path):
    out, _ = written
    write_lm_eval_tasks(tmp_path, "org/parallelbench", ["waiting_line/shuffle"])
    ours, theirs = load_yaml(tmp_path / "parallelbench_waiting_line-shuffle.yaml"), load_yaml(
        out / "parallelbench_waiting_line-shuffle.yaml")
    assert ours["dataset_path"] == "org/parallelbench"
    assert ours["generation_kwargs"] == theirs["generation_kwargs"]
    assert load_yaml(tmp_path / "parallelbench.yaml")["task"] == ["parallelbench_waiting_line-shuffle"]


def test_revision_appears_only_when_given(built, tmp_path):
    write_lm_eval_tasks(tmp_path, "org/parallelbench", built, revision="v1.0.0")
    for name in CONFIGS:
        task = load_yaml(tmp_path / f"parallelbench_{name}.yaml")
        assert task["dataset_kwargs"] == {"revision": "v1.0.0"} and task["dataset_path"] == "org/parallelbench"


def test_odd_characters_in_the_dataset_path_survive_yaml(built, tmp_path):
    odd = "org/bench: 'v1' #\"x\" é"
    write_lm_eval_tasks(tmp_path, odd, built, revision="refs/pr/1 #2")
    task = load_yaml(tmp_path / "parallelbench_waiting_line-shuffle.yaml")
    assert task["dataset_path"] == odd and task["dataset_kwargs"] == {"revision": "refs/pr/1 #2"}


@pytest.mark.parametrize("config", CONFIGS)
def test_written_utils_score_gold_as_one_and_garbage_as_zero(built, written, config):
    utils = load_utils(written[0])
    row = next(row for row in read_rows(built) if pb.get_task(row["task"]).config_name == config)
    assert utils.process_results(row, [row["answer"]]) == {"accuracy": 1.0, "score": 1.0}
    assert utils.process_results(row, ["no idea, sorry"]) == {"accuracy": 0.0, "score": 0.0}


@pytest.mark.parametrize("config", CONFIGS)
def test_doc_to_text_holds_the_one_shot_example_then_the_prompt(built, written, config):
    utils = load_utils(written[0])
    row = next(row for row in read_rows(built) if pb.get_task(row["task"]).config_name == config)
    example_prompt, example_answer, prompt = (message["content"] for message in row["messages"])
    assert utils.doc_to_text(row) == (f"User: {example_prompt}\n\nAssistant: {example_answer}\n\n"
                                      f"User: {prompt}\n\nAssistant:")
    assert row["prompt"] == prompt


def test_docs_loaded_as_lm_eval_loads_them_are_graded(built, written, tmp_path):
    datasets = pytest.importorskip("datasets")
    out, _ = written
    task = load_yaml(out / "parallelbench_waiting_line-shuffle.yaml")
    docs = datasets.load_dataset(task["dataset_path"], task["dataset_name"], split=task["test_split"],
                                 cache_dir=str(tmp_path / "cache"))
    utils = load_utils(out)
    doc = docs[0]
    assert doc["prompt"] in utils.doc_to_text(doc)
    assert utils.process_results(doc, [doc["answer"]])["accuracy"] == 1.0


def test_bad_inputs_raise_value_error(tmp_path):
    with pytest.raises(ValueError, match="not a ParallelBench build"):
        write_lm_eval_tasks(tmp_path / "out", "org/parallelbench", tmp_path)
    with pytest.raises(ValueError):
        write_lm_eval_tasks(tmp_path / "out", "org/parallelbench", ["no_such-config"])
    with pytest.raises(ValueError, match="no configs"):
        write_lm_eval_tasks(tmp_path / "out", "org/parallelbench", [])
