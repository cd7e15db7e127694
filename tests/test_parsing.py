"""Lenient and strict extraction of a list from free text; nothing may raise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from parallelbench.validators.parsing import as_text, extract_list, normalize_item, unwrap


def test_strict_takes_only_a_json_array():
    assert extract_list(' ["a", "b"] ', strict=True) == (["a", "b"], "")
    assert extract_list('Answer: ["a"]', strict=True)[0] is None
    assert extract_list("{}", strict=True) == (None, "not a JSON array")


def test_lenient_finds_the_list_in_prose_and_ignores_later_brackets():
    text = 'The new line is ["Ann Lee", "Bo Chen"]. (See [1] for details.)'
    assert extract_list(text, strict=False) == (["Ann Lee", "Bo Chen"], "")


def test_lenient_skips_brackets_that_are_not_a_list():
    assert extract_list('Step [one: think] then ["x", "y"]', strict=False) == (["x", "y"], "")


def test_unwrap_removes_fence_prefix_and_smart_quotes():
    assert unwrap('```json\n[\u201cA\u201d]\n```') == '["A"]'
    assert unwrap("**Answer:** [1]") == "[1]"


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
