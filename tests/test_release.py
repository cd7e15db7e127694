"""Importing the original release's test rows, and scoring them with the release's semantics or ours.

The fixture (tests/data/release_fixture) is in the release's format (JSON lines per task, one task_config.yaml per
group) but written for these tests: its own templates, names and sentences. The release's rows are never committed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import parallelbench as pb
from parallelbench.cli import main
from parallelbench.folder import checksum_problems, read_manifest, read_rows
from parallelbench.release import DEFECTS, TEST_FOLDER, import_rows, release_defects
from parallelbench.validators import release_semantics
from parallelbench.validators.release_semantics import ReleaseMetricUnavailable, parse_release_list

FIXTURE = Path(__file__).parent / "data" / "release_fixture"
JSONL_FILES = sorted(FIXTURE.glob("*/*.jsonl"))


@pytest.fixture(scope="module")
def rows_by_config() -> dict[str, list[dict]]:
    return {name: rows for name, (_, rows) in import_rows(FIXTURE).items()}


def _row(rows_by_config: dict[str, list[dict]], config: str, index: int = 0) -> dict:
    return rows_by_config[config][index]


# --- import ----------------------------------------------------------------------------------------------------------

def test_every_file_becomes_a_config_with_as_many_rows(rows_by_config):
    lines = {f"{path.parent.name}/{path.stem}": len(path.read_text().splitlines()) for path in JSONL_FILES}
    mapped = {file.name: len(rows) for file, rows in import_rows(FIXTURE).values()}
    assert mapped == lines
    assert "paraphrase_summarize-paraphrase" in rows_by_config  # the release's chatgpt-paraphrases, our name
    assert "paraphrase_summarize-summarize" in rows_by_config   # samsum
    assert len(rows_by_config) == len(JSONL_FILES)


def test_rows_have_the_shared_schema(rows_by_config):
    for rows in rows_by_config.values():
        for row in rows:
            assert tuple(row) == pb.COLUMNS
            assert row["prompt"] == row["messages"][-1]["content"]
            assert pb.CANARY == json.loads(row["metadata"])["canary"]


def test_messages_follow_the_release_loader(rows_by_config):
    row = _row(rows_by_config, "waiting_line-insert_index")
    assert row["messages"] == [
        {"role": "user", "content": 'A customer "Hugo Penn" joins the bakery queue at position 0:\n'
                                    '["Pia Lund", "Rolf Gide", "Sami Ek"]\nGive only the new list.\n'},
        {"role": "assistant", "content": '["Hugo Penn", "Pia Lund", "Rolf Gide", "Sami Ek"]'},
        {"role": "user", "content": 'A customer "Kofi Marsh" joins the bakery queue at position 1:\n'
                                    '["Nadia Voss", "Ivo Brandt", "Lena Okafor"]\nGive only the new list.\n'},
    ]
    # An example whose answer is an object: the assistant turn is its "example".
    shuffle = _row(rows_by_config, "waiting_line-shuffle")
    assert shuffle["messages"][1]["content"] == '["Sami Ek", "Pia Lund", "Rolf Gide"]'
    # The sudoku template holds literal backslash-n sequences (single-quoted YAML); the loader makes them newlines.
    sudoku = _row(rows_by_config, "puzzle-sudoku_n4_12")
    assert sudoku["prompt"] == ("Complete the 4x4 sudoku (0 marks a blank).\n\nGrid:\n1204\n3412\n2140\n0321\n"
                                "Solution:\n")
    assert [m["role"] for m in sudoku["messages"]] == ["user", "assistant", "user"]
    # No examples: the prompt alone.
    words = _row(rows_by_config, "words_to_sentence-hard_n1")
    assert words["messages"] == [{"role": "user", "content": "Write one sentence that uses the word quasar."}]


def test_references_answers_and_defects(rows_by_config):
    insert = json.loads(_row(rows_by_config, "waiting_line-insert_index")["reference"])
    assert insert["position"] == 2 and insert["item"] == "Kofi Marsh"  # release index 1 counts from 0
    assert insert["release"] == {"metric": "list_match_score",
                                 "answer": '["Nadia Voss", "Kofi Marsh", "Ivo Brandt", "Lena Okafor"]'}
    shuffle = _row(rows_by_config, "waiting_line-shuffle")
    assert shuffle["answer"] == '["Ivo Brandt", "Lena Okafor", "Nadia Voss"]' and shuffle["n_answers"] == 5
    assert _row(rows_by_config, "puzzle-latin_square_n4")["n_answers"] == 576
    paraphrase = _row(rows_by_config, "paraphrase_summarize-paraphrase")
    assert paraphrase["answer"] == "Visitors can enter the museum's new wing starting next Saturday."
    assert release_defects(_row(rows_by_config, "waiting_line-remove_index")) == ["index_0_based_unstated"]
    assert release_defects(_row(rows_by_config, "waiting_line-sort", 0)) == ["sort_by_first_name"]
    assert release_defects(_row(rows_by_config, "waiting_line-sort", 1)) == []  # both orders agree
    assert release_defects(_row(rows_by_config, "puzzle-sudoku_n4_12")) == ["sudoku_other_source"]
    assert release_defects(_row(rows_by_config, "words_to_sentence-easy", 1)) == ["no_gold_answer"]
    assert release_defects(_row(rows_by_config, "waiting_line-copy")) == []
    assert {code for rows in rows_by_config.values() for row in rows for code in release_defects(row)} <= set(DEFECTS)


def test_gold_passes_our_validators_except_flagged_rows(rows_by_config):
    failing = {(row["task"], row["index"]) for rows in rows_by_config.values() for row in rows
               if not pb.score(row, row["answer"], strict=True).correct}
    flagged = {(row["task"], row["index"]) for rows in rows_by_config.values() for row in rows
               if set(release_defects(row)) & {"sort_by_first_name", "no_gold_answer"}}
    assert failing == flagged
    assert ("waiting_line/sort", 0) in failing and ("waiting_line_n15/sort", 0) in failing


def test_our_semantics_rejects_what_it_should(rows_by_config):
    row = _row(rows_by_config, "waiting_line-insert_index")
    # The 0-based reading of "position 1" is the gold; the 1-based reading puts the new person first.
    assert not pb.score(row, '["Kofi Marsh", "Nadia Voss", "Ivo Brandt", "Lena Okafor"]').correct
    assert not pb.score(row, '["Nadia Voss", "Kofi Marsh", "Kofi Marsh", "Ivo Brandt", "Lena Okafor"]').correct
    sort = _row(rows_by_config, "waiting_line-sort")
    assert pb.score(sort, '["Nadia Brandt", "Lena Okafor", "Ivo Voss"]').correct  # last-name order
    assert not pb.score(sort, sort["answer"]).correct


def test_bad_input_gives_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="neither a checkout"):
        import_rows(tmp_path)
    broken = tmp_path / "test"
    shutil.copytree(FIXTURE, broken)
    with (broken / "waiting_line" / "copy.jsonl").open("a") as handle:
        handle.write('{"input": {"context": "not a list"}, "answer": "[]"}\n')
    with pytest.raises(ValueError, match=r"waiting_line/copy.jsonl:3: input.context is not a JSON list"):
        import_rows(broken)
    (broken / "waiting_line" / "copy.jsonl").write_text("{oops\n")
    with pytest.raises(ValueError, match=r"waiting_line/copy.jsonl:1: not a JSON object"):
        import_rows(broken)


# --- the build folder ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def imported_folder(tmp_path_factory) -> Path:
    """The fixture laid out as a git checkout of the release, imported with calibration."""
    checkout = tmp_path_factory.mktemp("checkout")
    shutil.copytree(FIXTURE, checkout / TEST_FOLDER)
    if shutil.which("git"):
        for command in (["init", "-q"], ["add", "."],
                        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "fixture"]):
            subprocess.run(["git", "-C", str(checkout), *command], check=True)
    return pb.import_release(checkout, tmp_path_factory.mktemp("out") / "release-build")


def test_import_writes_a_build_with_manifest_and_card(imported_folder):
    manifest = read_manifest(imported_folder)
    assert manifest["edition"] == "release"
    assert checksum_problems(imported_folder) == []
    sources = manifest["source"]["files_sha256"]
    assert set(sources) == {p.relative_to(FIXTURE).as_posix() for p in FIXTURE.glob("*/*") if p.is_file()}
    if shutil.which("git"):
        assert len(manifest["source"]["commit"]) == 40 and manifest["source"]["modified"] is False
    assert manifest["configs"]["waiting_line-sort"]["release_defects"] == {"sort_by_first_name": 1}
    card = (imported_folder / "README.md").read_text()
    assert "Not for redistribution" in card and "license: other" in card
    assert "| `sort_by_first_name` | 2 |" in card
    rows = pq.read_table(imported_folder / "data/waiting_line-copy/test-00000-of-00001.parquet").to_pylist()
    assert len(rows) == 2


def test_a_copy_inside_another_repository_has_no_commit(tmp_path):
    # The fixture lies inside this package's own checkout: its commit is not the release's.
    assert read_manifest(pb.import_release(FIXTURE, tmp_path / "out", calibrate=False))["source"]["commit"] is None


def test_import_of_the_test_folder_alone_has_no_commit(tmp_path):
    plain = tmp_path / "test"
    shutil.copytree(FIXTURE, plain)
    folder = pb.import_release(plain, tmp_path / "out", calibrate=False)
    assert read_manifest(folder)["source"]["commit"] is None
    assert all(row["difficulty"] == "{}" for row in read_rows(folder))


def test_imported_rows_are_calibrated(imported_folder):
    rows = {row["task"]: row for row in read_rows(imported_folder)}
    row = rows["waiting_line/insert_random"]
    difficulty = json.loads(row["difficulty"])
    assert difficulty["accuracy"]["random/sample"]["all"] == pytest.approx(float(pb.oracle_accuracy(row, None)))
    assert pb.oracle_accuracy(row, None) < Fraction(1)  # four correct answers: parallel decoding can mix them
    assert json.loads(rows["waiting_line/copy"]["difficulty"])["accuracy"]["random/sample"]["all"] == 1.0
    assert (imported_folder / "calibration" / "waiting_line-insert_random.json").is_file()


def test_push_refuses_a_release_edition(imported_folder):
    with pytest.raises(ValueError, match="no license"):
        pb.push(imported_folder, repo_id="org/x", dry_run=True)
    plan = pb.push(imported_folder, repo_id="org/x", dry_run=True, i_have_the_rights=True)
    assert plan.tag == "v0.1.0"


def test_cli_import_score_side_by_side_and_validate(tmp_path, capsys):
    out = tmp_path / "rel"
    assert main(["import-release", str(FIXTURE), "--out", str(out), "--no-calibrate"]) == 0
    assert "21 rows" in capsys.readouterr().out
    rows = [row for row in read_rows(out) if row["family"].startswith("waiting_line")]
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text("".join(json.dumps({"id": row["id"], "prediction": row["answer"]}) + "\n" for row in rows))
    assert main(["score", str(out), "--predictions", str(predictions), "--out", str(tmp_path / "v.jsonl")]) == 0
    report = capsys.readouterr().out
    assert "parallelbench accuracy\trelease score\trows\tflagged rows" in report
    assert "waiting_line/sort\t0.5000\t1.0000\t2\t1" in report
    assert main(["score", str(out), "--predictions", str(predictions), "--out", str(tmp_path / "v.jsonl"),
                 "--semantics", "release"]) == 0
    verdicts = [json.loads(line) for line in (tmp_path / "v.jsonl").read_text().splitlines()]
    assert all(verdict["correct"] for verdict in verdicts)  # the release accepts its own gold, sort included
    assert main(["push", str(out), "--repo-id", "org/x", "--dry-run"]) == 2
    assert "--i-have-the-rights" in capsys.readouterr().err
    capsys.readouterr()
    assert main(["calibrate", str(out)]) == 0  # a release edition recalibrates like any build
    assert "Not for redistribution" in (out / "README.md").read_text()
    capsys.readouterr()
    assert main(["validate", str(out)]) == 0
    assert "except 4 rows flagged" in capsys.readouterr().out  # 2 sorts by first name, 2 rows without gold


def test_load_dataset_reads_the_imported_folder(imported_folder, tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = datasets.load_dataset(str(imported_folder), "puzzle-sudoku_n4_12", split="test",
                                 cache_dir=str(tmp_path / "cache"))
    assert rows[0]["answer"] == "1234\n3412\n2143\n4321"


# --- semantics="release" -------------------------------------------------------------------------------------------

def test_release_list_parser():
    assert parse_release_list('["Ann Lee", "Bo Chen"]', strict=True) == ["Ann Lee", "Bo Chen"]
    assert parse_release_list('["Ann Lee","Bo Chen"]', strict=True) is None  # strict wants ", " between items
    assert parse_release_list('["Ann Lee","Bo Chen"]', strict=False) == ["Ann Lee", "Bo Chen"]
    assert parse_release_list("Ann Lee, Bo Chen", strict=False) == ["Ann Lee", "Bo Chen"]  # no brackets needed
    assert parse_release_list("Ann Lee, Bo Chen", strict=True) is None
    assert parse_release_list('[["x"]] then ["Ann Lee"]', strict=False) == ["Ann Lee"]  # the last "[" wins
    assert parse_release_list("['Ann Lee']", strict=False) == ["'Ann Lee'"]  # single quotes are kept
    assert parse_release_list('[\n"Ann Lee"\n]', strict=False) == ['\n"Ann Lee"\n']  # newlines are not stripped
    assert parse_release_list("[]", strict=True) is None


@pytest.mark.parametrize(("config", "prediction", "lenient", "strict"), [
    ("waiting_line-copy", '["Nadia Voss", "Ivo Brandt", "Lena Okafor"]', 1.0, 1.0),
    ("waiting_line-copy", '["Nadia Voss","Ivo Brandt","Lena Okafor"]', 1.0, 0.0),
    ("waiting_line-copy", 'Sure: ["Nadia Voss", "Ivo Brandt", "Lena Okafor"].', 1.0, 1.0),
    ("waiting_line-copy", '["nadia voss", "Ivo Brandt", "Lena Okafor"]', 0.0, 0.0),
    ("waiting_line-copy", '["Nadia Voss", "Ivo Brandt"]', 0.0, 0.0),
    ("waiting_line-copy", '["Nadia Voss", "Nadia Voss", "Ivo Brandt", "Lena Okafor"]', 0.0, 0.0),
    ("waiting_line-sort", '["Ivo Voss", "Lena Okafor", "Nadia Brandt"]', 1.0, 1.0),  # the gold: by first name
    ("waiting_line-sort", '["Nadia Brandt", "Lena Okafor", "Ivo Voss"]', 0.0, 0.0),  # what the prompt asks
    ("waiting_line-shuffle", '["Lena Okafor", "Nadia Voss", "Ivo Brandt"]', 1.0, 1.0),
    ("waiting_line-shuffle", '["Nadia Voss", "Ivo Brandt", "Lena Okafor"]', 0.0, 0.0),  # the input echoed
    ("waiting_line-shuffle", '["Lena Okafor", "Nadia Voss", "Nadia Voss"]', 0.0, 0.0),
    ("waiting_line-insert_random", '["Nadia Voss", "Kofi Marsh", "Ivo Brandt", "Lena Okafor"]', 1.0, 1.0),
    ("waiting_line-insert_random", '["Ivo Brandt", "Kofi Marsh", "Nadia Voss", "Lena Okafor"]', 0.0, 0.0),
    ("waiting_line-insert_random", '["Nadia Voss", "Ivo Brandt", "Lena Okafor"]', 0.0, 0.0),
    ("waiting_line-remove_random", '["Tomas Reyes", "Mira Alvarez", "Ella Baptiste"]', 1.0, 1.0),
    ("waiting_line-remove_random", '["Mira Alvarez", "Tomas Reyes", "Ella Baptiste"]', 0.0, 0.0),
    ("waiting_line-remove_random", '["Tomas Reyes", "Mira Alvarez"]', 0.0, 0.0),
    ("waiting_line-replace_random", '["Kofi Marsh", "Ivo Brandt", "Lena Okafor"]', 1.0, 1.0),
    ("waiting_line-replace_random", '["Kofi Marsh", "Lena Okafor", "Ivo Brandt"]', 0.0, 0.0),
    ("waiting_line-replace_random", '["Nadia Voss", "Ivo Brandt", "Lena Okafor"]', 0.0, 0.0),
    ("puzzle-latin_square_n4", "2,M,7,Q\nQ,7,M,2\n7,Q,2,M\nM,2,Q,7", 1.0, 1.0),  # any valid square
    ("puzzle-latin_square_n4", "Here:\nQ, 7, M, 2\n7, Q, 2, M\nM, 2, Q, 7\n2, M, 7, Q\nDone", 1.0, 1.0),
    ("puzzle-latin_square_n4", "Q,7,M,2\nQ,7,M,2\nM,2,Q,7\n2,M,7,Q", 0.0, 0.0),
    ("puzzle-latin_square_n4", "Q,7,M,2\n7,Q,2,M\nM,2,Q,7", 0.0, 0.0),
    ("puzzle-sudoku_n4_12", "1234\n3412\n2143\n4321", 1.0, 1.0),
    ("puzzle-sudoku_n4_12", "1 2 3 4\n3,4,1,2\n2143\n4321\n", 1.0, 0.0),
    ("puzzle-sudoku_n4_12", "1234\n3412\n2143", 0.0, 0.0),
    ("puzzle-sudoku_n4_12", "1234\n3412\n4321\n2143", 0.0, 0.0),  # valid rows, wrong grid
    ("waiting_line-copy", "", 0.0, 0.0),
    ("puzzle-sudoku_n4_12", "\x00\ud800 garbage", 0.0, 0.0),
])
def test_release_verdicts(rows_by_config, config, prediction, lenient, strict):
    row = _row(rows_by_config, config)
    verdict = pb.score(row, prediction, semantics="release")
    assert (verdict.details["score"], verdict.details["score_strict"]) == (lenient, strict)
    assert verdict.value == lenient and verdict.correct == (lenient == 1.0)
    assert pb.score(row, prediction, strict=True, semantics="release").value == strict


def test_release_semantics_needs_an_imported_row(rows_by_config):
    ours = pb.generate("waiting_line/copy", n=1)[0]
    with pytest.raises(ValueError, match="import-release"):
        pb.score(ours, ours["answer"], semantics="release")
    with pytest.raises(ValueError, match="semantics must be one of"):
        pb.score(_row(rows_by_config, "waiting_line-copy"), "[]", semantics="paper")
    verdict = pb.score(_row(rows_by_config, "waiting_line-copy"), 42, semantics="release")  # type: ignore[arg-type]
    assert not verdict.correct and "not text" in verdict.reason


def test_score_many_matches_the_loop_under_release_semantics(rows_by_config):
    rows = [row for rows in rows_by_config.values() for row in rows if row["family"] != "paraphrase_summarize"]
    predictions = [row["answer"] for row in rows[1:]] + [rows[0]["answer"]]
    batch = pb.score_many(rows, predictions, semantics="release")
    assert batch == [pb.score(row, p, semantics="release") for row, p in zip(rows, predictions)]


def test_release_text_metrics_say_when_they_cannot_run(rows_by_config, monkeypatch):
    def unavailable(text: str) -> bool:
        raise ReleaseMetricUnavailable("no LanguageTool here")

    monkeypatch.setattr(release_semantics, "release_grammar_ok", unavailable)
    row = _row(rows_by_config, "words_to_sentence-easy")
    verdict = pb.score(row, row["answer"], semantics="release")
    assert verdict.details["computable"] is False and "not computable" in verdict.reason
    assert verdict.details["inclusion_score"] == 1.0
    paraphrase = _row(rows_by_config, "paraphrase_summarize-paraphrase")
    verdict = pb.score(paraphrase, paraphrase["answer"], semantics="release")
    assert verdict.details["computable"] is False and "BERTScore" in verdict.reason


def test_release_word_inclusion_is_a_case_sensitive_substring(rows_by_config, monkeypatch):
    monkeypatch.setattr(release_semantics, "release_grammar_ok", lambda text: bool(text.strip()))
    row = _row(rows_by_config, "words_to_sentence-easy")  # lantern, harbor, sail
    assert pb.score(row, "Lanterns lit the harbor and we set sail.", semantics="release").value == 0.0
    assert pb.score(row, "The lanterns lit the harbors; we set sail.", semantics="release").value == 1.0
    assert pb.score(row, "xlanternx harbor sail", semantics="release").value == 1.0  # substrings, not words


def test_release_summary_score(rows_by_config, monkeypatch):
    pytest.importorskip("rouge_score")
    monkeypatch.setattr(release_semantics, "release_grammar_ok", lambda text: True)
    row = _row(rows_by_config, "paraphrase_summarize-summarize")
    gold = pb.score(row, row["answer"], semantics="release")
    assert gold.value == pytest.approx(1.0) and gold.details["continuous"] and not gold.correct
    partial = pb.score(row, "Dev brings a tent.", semantics="release")
    assert 0.0 < partial.value < 1.0


def test_release_grammar_counts_every_languagetool_match(monkeypatch):
    from parallelbench.scoring import grammar

    def fake_report(errors: tuple, ignored: int):
        return lambda text, backend=None: grammar.GrammarReport(errors, ignored, "languagetool", "fake")

    spelling_only = fake_report((), 1)  # LanguageTool found a spelling match: ours ignores it, the release does not
    monkeypatch.setattr(grammar, "check_grammar", spelling_only)
    assert release_semantics.release_grammar_ok("A sentnce.") is False
    ours_only = fake_report((grammar.GrammarError("parallelbench:RepeatedWord", "the the", ""),), 0)
    monkeypatch.setattr(grammar, "check_grammar", ours_only)
    assert release_semantics.release_grammar_ok("I saw the the cat.") is True  # not a LanguageTool match
    grammar_match = fake_report((grammar.GrammarError("languagetool:HE_VERB_AGR", "He have", ""),), 0)
    monkeypatch.setattr(grammar, "check_grammar", grammar_match)
    assert release_semantics.release_grammar_ok("He have a cat.") is False
    assert release_semantics.release_grammar_ok("   ") is False  # empty: the release fails it without checking
    with pytest.raises(ReleaseMetricUnavailable, match="first 5000 characters"):
        release_semantics.release_grammar_ok("word " * 2000)


def test_release_grammar_without_languagetool_is_unavailable(monkeypatch):
    from parallelbench.scoring import grammar

    def missing(text: str, backend: str | None = None):
        raise grammar.GrammarBackendUnavailable("no LanguageTool")

    monkeypatch.setattr(grammar, "check_grammar", missing)
    with pytest.raises(ReleaseMetricUnavailable, match="LanguageTool"):
        release_semantics.release_grammar_ok("A sentence.")
