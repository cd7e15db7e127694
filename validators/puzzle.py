"""Exact checks for the puzzle family (Latin squares and 4x4 sudoku), and their complete answer sets.

A row's reference holds the puzzle alone: ``{"symbols": [...]}`` for a Latin square (any n x n square on those
symbols is correct, not only the stored gold) and ``{"grid": ["1020", ...]}`` for a 4x4 sudoku (4 strings of 4
digits, 0 = blank; every completion that keeps the clues is correct). Answers are grids written one row per line:

- strict: exactly n lines (outer whitespace aside); a Latin-square line is its n symbols joined by commas with no
  spaces (``A,B,C``), a sudoku line is its 4 digits with no separator (``1234``); symbols must match exactly.
- lenient: the last grid in the text is graded; code fences, an "Answer:" prefix and prose around the grid are
  ignored; cells may be separated by commas, semicolons, bars or spaces, wrapped in brackets or quotes, written as
  one compact word per row (``ABC``) or as the whole grid on one line; symbols match after NFKC and case folding
  (see `parse_grid`).

The answer unit of these tasks is one grid cell: `enumerate_answers` returns each correct grid as a tuple of its
n*n cell strings in row-major order. The combinatorial helpers (`latin_squares`, `sudoku_grids`,
`sudoku_completions`) also serve the generator; everything is computed on first use and cached.
"""

from __future__ import annotations

import itertools
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..errors import MalformedRowError
from ..schema import Score, failed, passed
from .parsing import MAX_PREDICTION_CHARS, as_text, extract_list, lenient_text, unwrap

#: The number of Latin squares of order n on a fixed set of n symbols (OEIS A002860).
LATIN_SQUARE_COUNTS: dict[int, int] = {1: 1, 2: 2, 3: 12, 4: 576, 5: 161_280, 6: 812_851_200}
#: The symbols of a 4x4 sudoku, and the blank of its clue grid.
SUDOKU_DIGITS: tuple[str, ...] = ("1", "2", "3", "4")
SUDOKU_BLANK = "0"
#: Side of one sudoku box (the 4x4 grid has four 2x2 boxes).
BOX = 2

Square = tuple[tuple[int, ...], ...]


@lru_cache(maxsize=None)
def latin_squares(n: int, reduced: bool = False) -> tuple[Square, ...]:
    """Return every Latin square of order `n` on the symbols 0..n-1, each as a tuple of row tuples.

    Backtracking row by row over the n! permutations, with each row's (column, symbol) pairs as a bitmask so a
    clash with the rows above is one AND. Fast for n <= 4 (576 squares) and for reduced squares up to n = 6.

    Args:
        n: The order.
        reduced: Only the reduced squares (first row and first column both 0, 1, ..., n-1): 1, 1, 4, 56 and 9408
            of them for n = 2..6.

    Returns:
        The squares in lexicographic order.
    """
    permutations = list(itertools.permutations(range(n)))  # in lexicographic order, the identity first
    masks = {p: sum(1 << (column * n + symbol) for column, symbol in enumerate(p)) for p in permutations}
    # Row i of a reduced square starts with symbol i, and row 0 is the identity.
    candidates = [[p for p in permutations if p[0] == i] if reduced else permutations for i in range(n)]
    if reduced:
        candidates[0] = permutations[:1]
    squares: list[Square] = []

    def extend(rows: list[tuple[int, ...]], used: int) -> None:
        if len(rows) == n:
            squares.append(tuple(rows))
            return
        for row in candidates[len(rows)]:
            if not masks[row] & used:
                rows.append(row)
                extend(rows, used | masks[row])
                rows.pop()

    extend([], 0)
    return tuple(squares)


def _boxes(n: int = 4) -> list[list[tuple[int, int]]]:
    """Return the cells of each 2x2 box of a 4x4 grid, boxes numbered row-major."""
    return [
        [(top + r, left + c) for r in range(BOX) for c in range(BOX)]
        for top in range(0, n, BOX)
        for left in range(0, n, BOX)
    ]


@lru_cache(maxsize=1)
def sudoku_grids() -> tuple[tuple[int, ...], ...]:
    """Return every 4x4 sudoku solution grid (288 of them) as a flat row-major tuple of digits 1..4.

    A sudoku grid is a Latin square of order 4 whose four 2x2 boxes also hold every digit once.
    """
    grids = []
    for square in latin_squares(4):
        if all(len({square[r][c] for r, c in box}) == 4 for box in _boxes()):
            grids.append(tuple(symbol + 1 for row in square for symbol in row))
    return tuple(grids)


@lru_cache(maxsize=1)
def _cell_masks() -> tuple[tuple[int, ...], ...]:
    """Return, for each cell and digit, a bitmask over `sudoku_grids()` of the grids with that digit in that cell."""
    masks = [[0] * 5 for _ in range(16)]
    for bit, grid in enumerate(sudoku_grids()):
        for cell, digit in enumerate(grid):
            masks[cell][digit] |= 1 << bit
    return tuple(tuple(row) for row in masks)


def _consistent(grid: Sequence[str]) -> int:
    """Return the bitmask over `sudoku_grids()` of the solution grids that keep the clues of `grid`."""
    masks = _cell_masks()
    consistent = (1 << len(sudoku_grids())) - 1
    for cell, digit in enumerate("".join(grid)):
        if digit != SUDOKU_BLANK:
            consistent &= masks[cell][int(digit)]
    return consistent


def count_sudoku_completions(grid: Sequence[str]) -> int:
    """Return how many solution grids keep the clues of `grid` (4 strings of 4 digits, "0" for a blank)."""
    return _consistent(grid).bit_count()


def sudoku_completions(grid: Sequence[str]) -> list[tuple[int, ...]]:
    """Return every solution grid that keeps the clues of `grid`, as flat row-major tuples of digits.

    Args:
        grid: The clue grid, 4 strings of 4 digits with "0" for a blank.

    Returns:
        The completions, in the order of `sudoku_grids()`.
    """
    consistent = _consistent(grid)
    return [solution for bit, solution in enumerate(sudoku_grids()) if consistent >> bit & 1]


@dataclass(frozen=True)
class Puzzle:
    """What a check needs to know about one row.

    Attributes:
        symbols: The n symbols every row and column must hold once each.
        clues: Given cells, (row, column) from 0 -> symbol; empty for a Latin square.
        boxes: Whether the 2x2 boxes must also hold every symbol (sudoku).
        separator: What separates the cells of one line in the strict format ("," or "").
    """

    symbols: tuple[str, ...]
    clues: tuple[tuple[tuple[int, int], str], ...]
    boxes: bool
    separator: str

    @property
    def n(self) -> int:
        """The side of the grid."""
        return len(self.symbols)


def puzzle_of(reference: dict[str, Any]) -> Puzzle:
    """Return the puzzle a row's reference describes.

    Raises:
        MalformedRowError: (a `ValueError`) naming the bad field, when the reference is malformed.
    """
    if "grid" in reference:
        grid = reference["grid"]
        if not (isinstance(grid, list) and len(grid) == 4
                and all(isinstance(line, str) and re.fullmatch("[0-4]{4}", line) for line in grid)):
            raise MalformedRowError(f"malformed sudoku reference: 'grid'  must be 4 strings of 4 digits 0-4, got {grid!r}")
        clues = tuple(((r, c), digit) for r, line in enumerate(grid) for c, digit in enumerate(line) if digit != "0")
        return Puzzle(SUDOKU_DIGITS, clues, boxes=True, separator="")
    symbols = reference.get("symbols")
    if not (isinstance(symbols, list) and 1 <= len(symbols) <= 6 and len(set(symbols)) == len(symbols)
            and all(isinstance(s, str) and len(s) == 1 and s.isalnum() for s in symbols)):
        raise MalformedRowError(f"malformed puzzle reference: need 'grid' or 'symbols' (1-6 distinct letters or digits), "
                         f"got {reference!r}")
    return Puzzle(tuple(symbols), (), boxes=False, separator=",")


def answer_text(puzzle: Puzzle, rows: Sequence[Sequence[str]]) -> str:
    """Write a grid in the strict answer format of `puzzle` (one line per row)."""
    return "\n".join(puzzle.separator.join(row) for row in rows)


_NOISE = re.compile(r"[\[\](){}\"'`*]")
_SEPARATORS = re.compile(r"[\s,;|]+")
_SKIPPED_LINE = re.compile(r"[\s|:+=-]*")  # blank, or a markdown table rule such as |---|---|


def _rows_in_line(line: str, n: int, compact_chars: frozenset[str]) -> list[list[str]] | None:
    """Return the grid rows one line of a lenient answer holds, or None when it is not grid text.

    A compact row ("ABC", "1234") counts only when all its characters are in `compact_chars` (the case-folded
    symbols and the digits), so that a prose word of n letters ("Done") is not taken for a row.
    """
    tokens = [token.strip(".") for token in _SEPARATORS.split(_NOISE.sub(" ", line))]
    tokens = [token for token in tokens if token]
    if tokens and all(len(token) == 1 for token in tokens):
        if len(tokens) == n:
            return [tokens]
        if len(tokens) == n * n:  # the whole grid on one line
            return [tokens[i : i + n] for i in range(0, n * n, n)]
        return None
    if len(tokens) in (1, n) and all(len(token) == n and set(token.casefold()) <= compact_chars for token in tokens):
        return [list(token) for token in tokens]  # compact rows such as "ABC" or "1234"
    return None


def _grid_runs(text: str, puzzle: Puzzle) -> list[list[list[str]]]:
    """Split a lenient answer into runs of consecutive grid rows.

    Markdown table rules never end a run; a blank line ends a run that already holds a whole grid (n rows or more),
    and is skipped inside a shorter one (a grid written with blank lines between its rows).
    """
    n = puzzle.n
    compact_chars = frozenset(symbol.casefold() for symbol in puzzle.symbols) | frozenset(string.digits)
    runs: list[list[list[str]]] = []
    run: list[list[str]] = []
    for line in text.splitlines():
        if _SKIPPED_LINE.fullmatch(_NOISE.sub("", line)):
            if not line.strip() and len(run) >= n:
                runs.append(run)
                run = []
            continue
        rows = _rows_in_line(line, n, compact_chars)
        if rows is None:
            if run:
                runs.append(run)
            run = []
        else:
            run.extend(rows)
    if run:
        runs.append(run)
    return runs


def _parse_lenient(text: str, puzzle: Puzzle) -> tuple[list[list[str]] | None, str]:
    n = puzzle.n
    text = unwrap(unicodedata.normalize("NFKC", text))
    runs = _grid_runs(text, puzzle)
    complete = [run for run in runs if len(run) >= n]
    if complete:
        last = complete[-1]
        if len(last) == n:
            return last, ""  # the last grid
        return None, (f"found {len(last)} grid rows in a row, expected {n} (one grid, or grids separated by text "
                      f"or a blank line)")
    nested, _ = extract_list(text, strict=False, wanted=lambda rows: len(rows) == n)  # a JSON grid over many lines
    if nested is not None and len(nested) == n:
        rows = [[str(cell) for cell in row] if isinstance(row, list) else list(row) if isinstance(row, str) else []
                for row in nested]
        if all(len(row) == n for row in rows):
            return rows, ""
    if runs:
        return None, f"found only {max(len(run) for run in runs)} grid rows, expected {n}"
    return None, f"no {n} x {n} grid found"


def _parse_strict(text: str, puzzle: Puzzle) -> tuple[list[list[str]] | None, str]:
    n, separator = puzzle.n, puzzle.separator
    lines = text.strip().split("\n")
    if len(lines) != n:
        return None, f"strict format: expected {n} lines, got {len(lines)}"
    layout = "comma-separated symbols with no spaces" if separator else "digits with no separators"
    grid = []
    for number, line in enumerate(lines, start=1):
        cells = line.split(separator) if separator else list(line)
        if len(cells) != n or any(len(cell) != 1 or cell.isspace() or cell == "," for cell in cells):
            return None, f"strict format: line {number} is not {n} {layout}"
        grid.append(cells)
    return grid, ""


def parse_grid(prediction: object, puzzle: Puzzle, strict: bool) -> tuple[list[list[str]] | None, str]:
    """Find the n x n grid a prediction holds.

    Lenient mode grades the last run of consecutive grid lines that holds a whole grid, and that run must hold
    exactly n rows (a longer one, such as two grids written back to back, fails). A run ends at a line that is not
    grid text, or at a blank line once it holds n rows; markdown table rules are skipped. A grid line is n
    single-character cells split by commas, semicolons, bars or whitespace (brackets, quotes and a trailing period
    ignored), one compact word of n symbols or digits, or a whole grid (n*n cells, or n such words) on one line;
    failing that, the last JSON array of n rows (spread over many lines). Each cell is then mapped onto the symbol
    it equals after case folding. Only the last `MAX_PREDICTION_CHARS` characters are read. Strict mode: exactly n
    lines in the strict layout and nothing else (outer whitespace aside), at most `MAX_PREDICTION_CHARS`
    characters. Every rule is also listed in docs/parsing.md.

    Args:
        prediction: The model's output (any object; non-strings are treated as text).
        puzzle: The row's puzzle (its size, symbols and strict layout).
        strict: Demand exactly the strict layout (see the module docstring).

    Returns:
        ``(rows, "")`` on success, else ``(None, reason)``.
    """
    text = as_text(prediction) if strict else lenient_text(prediction)
    if not text.strip():
        return None, "empty prediction"
    if strict:
        if len(text) > MAX_PREDICTION_CHARS:
            return None, f"longer than {MAX_PREDICTION_CHARS:,} characters"
        return _parse_strict(text, puzzle)
    grid, problem = _parse_lenient(text, puzzle)
    if grid is None:
        return None, problem
    by_folded = {symbol.casefold(): symbol for symbol in puzzle.symbols}
    return [[by_folded.get(cell.casefold(), cell) for cell in row] for row in grid], ""


def _unit_problem(cells: list[str], symbols: tuple[str, ...]) -> str:
    """Describe how a row, column or box fails to hold every symbol once ("repeats B and lacks C"), or ""."""
    counts = Counter(cells)
    repeated = [symbol for symbol in symbols if counts[symbol] > 1]
    if not repeated:
        return ""
    missing = [symbol for symbol in symbols if counts[symbol] == 0]
    return f"repeats {', '.join(repeated)} and lacks {', '.join(missing)}"


def grid_problem(puzzle: Puzzle, grid: list[list[str]]) -> str:
    """Return why `grid` does not solve `puzzle`, or "" when it does.

    Checks, in order, reporting the first failure: every cell is one of the symbols; every clue is kept; every
    row, column (and for sudoku every 2x2 box, numbered 1-4 row by row) holds each symbol once.
    """
    symbols = puzzle.symbols
    allowed = set(symbols)
    for r, row in enumerate(grid, start=1):
        for c, cell in enumerate(row, start=1):
            if cell not in allowed:
                return f"cell ({r},{c}) holds {cell!r}, not one of {', '.join(symbols)}"
    for (r, c), given in puzzle.clues:
        if grid[r][c] != given:
            return f"changes clue at ({r + 1},{c + 1}): given {given}, got {grid[r][c]}"
    n = puzzle.n
    units = [(f"row {r + 1}", grid[r]) for r in range(n)]
    units += [(f"column {c + 1}", [grid[r][c] for r in range(n)]) for c in range(n)]
    if puzzle.boxes:
        for number, box in enumerate(_boxes(n), start=1):
            (top, left), (bottom, right) = box[0], box[-1]
            name = f"box {number} (rows {top + 1}-{bottom + 1}, columns {left + 1}-{right + 1})"
            units.append((name, [grid[r][c] for r, c in box]))
    for name, cells in units:
        problem = _unit_problem(cells, symbols)
        if problem:
            return f"{name} {problem}"
    return ""


def check(reference: dict[str, Any], prediction: str, strict: bool = False) -> Score:
    """Decide whether `prediction` solves a puzzle row (see `parallelbench.registry.Checker`).

    Every valid grid passes, not only the stored gold: any Latin square on the row's symbols, any completion of
    the sudoku that keeps its clues. A wrong answer's ``details["failure"]`` names the first broken rule (see
    `broken_rule`).
    """
    puzzle = puzzle_of(reference)
    mode = "strict" if strict else "lenient"
    grid, problem = parse_grid(prediction, puzzle, strict)
    if grid is None:
        return failed(problem, mode=mode, failure="format_error")
    problem = grid_problem(puzzle, grid)
    return failed(problem, mode=mode, failure=broken_rule(problem)) if problem else passed(mode=mode)


#: The failure classes of a grid answer: ``format_error`` (no n x n grid could be read), then the first rule of
#: `grid_problem` it breaks, keyed by how that function's reason begins.
BROKEN_RULES: dict[str, str] = {
    "cell ": "invalid_symbol", "changes clue": "changed_clue", "row ": "row_repeat", "column ": "column_repeat",
    "box ": "box_repeat",
}
FAILURE_CLASSES: tuple[str, ...] = ("format_error", *BROKEN_RULES.values())


def broken_rule(problem: str) -> str:
    """Return the failure class of a `grid_problem` reason (e.g. ``row_repeat`` for "row 2 repeats B ...")."""
    return next(rule for start, rule in BROKEN_RULES.items() if problem.startswith(start))


def count_answers(reference: dict[str, Any]) -> int:
    """Return how many grids solve a puzzle row (Latin squares on its symbols, or completions of its sudoku)."""
    puzzle = puzzle_of(reference)
    if puzzle.boxes:
        return count_sudoku_completions(reference["grid"])
    return LATIN_SQUARE_COUNTS[puzzle.n]


def enumerate_answers(reference: dict[str, Any], limit: int = 100_000) -> list[tuple[str, ...]] | None:
    """Return every correct grid as a tuple of its n*n cell strings in row-major order, or None past `limit`.

    Latin squares of order 5 (161,280) take a few seconds when `limit` admits them; order 6 (812,851,200) is
    never practical, so ask with a `limit` below that.
    """
    puzzle = puzzle_of(reference)
    if count_answers(reference) > limit:
        return None
    if puzzle.boxes:
        return [tuple(str(digit) for digit in grid) for grid in sudoku_completions(reference["grid"])]
    symbols = puzzle.symbols
    return [tuple(symbols[s] for row in square for s in row) for square in latin_squares(puzzle.n)]
