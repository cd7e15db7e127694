"""Lenient and strict extraction of a list from free text; nothing may raise."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import parallelbench as pb
from parallelbench.validators.parsing import as_text, extract_list, normalize_item, unwrap


def _is_strings(items):
    return all(isinstance(item, str) for item in items)


def test_strict_takes_only_a_json_array():
    assert extract_list(' ["a", "b"] ', strict=True) == (["a", "b"], "")
    assert extract_list('Answer: ["a"]', strict=True)[0] is None
    assert extract_list("{}", strict=True) == (None, "not a JSON array")
    assert extract_list('["a"] ["b"]', strict=True)[0] is None


def test_strict_rejects_trailing_junk_whatever_the_length():
    for padding in (10, 100_000, 300_000):
        items, reason = extract_list('["a"]' + " " * padding + "junk", strict=True)
        assert items is None and reason
    items, reason = extract_list('["a"]' + " " * 200_000, strict=True)
    assert items is None and "longer than" in reason


def test_lenient_grades_the_last_list():
    text = 'The line is ["Ann Lee", "Bo Chen"]. The new line is ["Bo Chen", "Ann Lee"].'
    assert extract_list(text, strict=False) == (["Bo Chen", "Ann Lee"], "")


def test_lenient_passes_over_a_citation_when_a_list_of_strings_comes_before_it():
    text = 'The new line is ["Ann Lee", "Bo Chen"]. (See [1] for details.)'
    assert extract_list(text, strict=False, wanted=_is_strings) == (["Ann Lee", "Bo Chen"], "")
    assert extract_list(text, strict=False) == ([1], "")  # without a notion of an answer, the last list


def test_lenient_takes_nested_lists_whole():
    assert extract_list('grid: [["A", "B"], ["B", "A"]] done', strict=False) == ([["A", "B"], ["B", "A"]], "")


def test_lenient_reads_unquoted_entries_only_when_each_is_known():
    known = {"Ann Lee", "Bo Chen"}
    assert extract_list("The line is [Bo Chen, Ann Lee].", strict=False, known=known) == (["Bo Chen", "Ann Lee"], "")
    assert extract_list("[Bo Chen, Ann]", strict=False, known=known) == (None, "no parsable list found")
    assert extract_list("[bo chen, Ann Lee]", strict=False, known=known)[0] is None  # exact entries only
    assert extract_list("[Bo Chen, Ann Lee]", strict=False)[0] is None  # nothing known, nothing unquoted
    assert extract_list("[Bo Chen, Ann Lee]", strict=True, known=known)[0] is None


def test_lenient_skips_brackets_that_are_not_a_list():
    assert extract_list('Step [one: think] then ["x", "y"]', strict=False) == (["x", "y"], "")
    assert extract_list('["x", "y"] then [one: think]', strict=False) == (["x", "y"], "")


def test_lenient_reads_the_tail_of_a_huge_text():
    text = '["wrong"]' + "x" * 500_000 + ' final: ["right"]'
    assert extract_list(text, strict=False) == (["right"], "")


def test_unwrap_removes_fence_prefix_and_smart_quotes():
    assert unwrap('```json\n[\u201cA\u201d]\n```') == '["A"]'
    assert unwrap("**Answer:** [1]") == "[1]"
    assert unwrap("```\n[1]\n```\nNo, better:\n```\n[2]\n```") == "[2]"


class _Unprintable:
    def __str__(self):
        raise RuntimeError("no text")


class _WeirdStr(str):
    def __getitem__(self, key):
        raise RuntimeError("no slicing")


def test_as_text_never_raises_on_any_object():
    assert as_text(10**5000) == "" or as_text(10**5000).isdigit()
    assert as_text(_Unprintable()) == ""
    assert as_text(_WeirdStr('["a"]')) == '["a"]'
    assert as_text(["a"]) == "['a']"


def test_normalize_item_forgives_case_space_and_outer_punctuation():
    assert normalize_item("  ann   LEE. ") == normalize_item("Ann Lee")


def test_pathological_inputs_do_not_raise():
    for text in ["", " ", "[" * 20_000, "]" * 20_000, "[" * 20_000 + "]" * 20_000, "x" * 1_000_000,
                 "\ud800\udfff lone", "[\"\ud800\"]", "12345", "[1, 2, 3]", "null", "\x00\x01[\x02"]:
        for strict in (True, False):
            items, reason = extract_list(text, strict)
            assert items is None or isinstance(items, list)
            assert items is not None or reason


def test_as_text_accepts_non_strings():
    assert as_text(None) == "" and as_text(b"[\xff]") == "[\ufffd]" and as_text(12) == "12"


@settings(max_examples=300, deadline=None)
@given(st.text(), st.booleans())
def test_any_text_gives_a_list_or_a_reason(text, strict):
    items, reason = extract_list(text, strict)
    assert (items is None) == bool(reason)


def _utf8_safe(value: object) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize("prediction", [r'["\ud800", "Bo"]', r'Answer: ["\udfff x"]', r"['\ud800']",
                                        r'[["\ud800", "B"], ["B", "A"]]', '["caf\\u00e9", "\\ud83d\\ude00"]'])
@pytest.mark.parametrize("strict", [False, True])
def test_escaped_lone_surrogates_are_mended_like_raw_ones(prediction, strict):
    # JSON and Python escapes can spell a lone surrogate; the parsed entries, and any verdict quoting them, must
    # still be writable as UTF-8 (a verdicts file is). Real characters written as escapes stay as they are.
    items, reason = extract_list(prediction, strict)
    assert _utf8_safe(items) and _utf8_safe(reason)
    if items is not None and prediction.startswith('["caf'):
        assert items == ["caf\u00e9", "\U0001F600"]


@pytest.mark.parametrize("task", ["waiting_line/copy", "puzzle/latin_square_n3"])
def test_a_verdict_on_an_escaped_lone_surrogate_is_writable(task):
    row = pb.generate(task, n=1)[0]
    for prediction in (r'["\ud800"]', r'[["\ud800", "B", "C"], ["B", "C", "A"], ["C", "A", "B"]]'):
        verdict = pb.score(row, prediction)
        assert not verdict.correct and _utf8_safe([verdict.reason, verdict.details])
