"""Puzzle tasks: write a Latin square on given symbols, or complete a 4x4 sudoku.

`puzzle/latin_square_n{3,4,5,6}` asks for any n x n Latin square on n symbols drawn per row from letters and
digits; `puzzle/sudoku_n4_{4..14}` gives a 4x4 sudoku (2x2 boxes) with that many clues. Every cell depends on its
row and column (and box), the hardest kind of dependency for parallel decoding.

Fixed on purpose against the original release: gold Latin squares are drawn uniformly from *all* Latin squares on
the symbols (not only shifted cyclic squares); see `sample_latin_square`. Sudoku rows state how many completions
exist, and the validator accepts each of them.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

from .. import rng as rnd
from ..rng import RowRandom
from ..registry import Instance, TaskSpec
from ..validators import puzzle as validator

#: The pools symbols are drawn from. Digits start at 1 so that 0 never stands beside the letter O.
ALPHABETS: dict[str, str] = {
    "letters": string.ascii_uppercase,
    "digits": "123456789",
    "mixed": string.ascii_uppercase + "123456789",
}
#: Latin-square orders on offer (order 7 has 16,942,080 reduced squares: too many to enumerate for the sampler).
ORDERS = range(2, 7)
SUDOKU_CELLS = 16


@dataclass(frozen=True)
class LatinSquareConfig:
    """Parameters of a Latin-square task.

    Attributes:
        order: The side n of the square, 2 to 6; the row has n symbols.
        alphabet: Where the symbols come from: ``mixed`` (letters A-Z and digits 1-9), ``letters`` or ``digits``.
        n_shots: How many one-shot example turns (each on its own symbols, from the task's example pool; see
            `parallelbench.rows`) come before the prompt.
    """

    order: int = 4
    alphabet: str = "mixed"
    n_shots: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.order, int) or isinstance(self.order, bool) or self.order not in ORDERS:
            raise ValueError(f"order must be an int from {ORDERS.start} to {ORDERS.stop - 1}; got {self.order!r}")
        if self.alphabet not in ALPHABETS:
            raise ValueError(f"alphabet must be one of {', '.join(ALPHABETS)}; got {self.alphabet!r}")
        if not isinstance(self.n_shots, int) or isinstance(self.n_shots, bool) or not 0 <= self.n_shots <= 8:
            raise ValueError(f"n_shots must be an int from 0 to 8; got {self.n_shots!r}")


@dataclass(frozen=True)
class SudokuConfig:
    """Parameters of a 4x4 sudoku task.

    Attributes:
        clues: How many of the 16 cells are given, 4 to 15 (4 is the fewest that can force a unique completion).
        max_solutions: Keep only puzzles with at most this many completions (1: unique, the default); None keeps
            every puzzle.
        n_shots: How many one-shot example turns (each on its own puzzle, from the task's example pool; see
            `parallelbench.rows`) come before the prompt.
    """

    clues: int = 12
    max_solutions: int | None = 1
    n_shots: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.clues, int) or isinstance(self.clues, bool) or not 4 <= self.clues <= 15:
            raise ValueError(f"clues must be an int from 4 to 15; got {self.clues!r}")
        if self.max_solutions is not None and (
            not isinstance(self.max_solutions, int) or isinstance(self.max_solutions, bool) or self.max_solutions < 1
        ):
            raise ValueError(f"max_solutions must be a positive int or None; got {self.max_solutions!r}")
        if not isinstance(self.n_shots, int) or isinstance(self.n_shots, bool) or not 0 <= self.n_shots <= 8:
            raise ValueError(f"n_shots must be an int from 0 to 8; got {self.n_shots!r}")


def sample_latin_square(rng: RowRandom, n: int) -> validator.Square:
    """Return a Latin square of order `n` on 0..n-1, drawn uniformly from all of them.

    Exact, not a Markov chain: a uniform reduced square R (first row and column 0..n-1), a uniform permutation
    `cols` of the columns and a uniform permutation `rows` of the rows that keeps row 0 first give the square
    ``L[i][j] = R[rows[i]][cols[j]]``. This map is a bijection from (R, cols, rows) onto all Latin squares:
    L's first row is `cols` itself and L's column under symbol 0 is `rows`, so L determines all three, and
    both sides count ``R_n * n! * (n-1)!`` squares. A uniform triple therefore gives a uniform square.

    Args:
        rng: The row's RNG.
        n: The order, 2 to 6.

    Returns:
        The square as a tuple of row tuples.
    """
    reduced = rnd.choice(rng, validator.latin_squares(n, reduced=True))
    cols = rnd.shuffled(rng, range(n))
    rows = [0, *rnd.shuffled(rng, range(1, n))]
    return tuple(tuple(reduced[i][j] for j in cols) for i in rows)


def render_latin_square_prompt(reference: dict[str, Any]) -> str:
    """Render the user message of a Latin-square row from its stored reference."""
    symbols = reference["symbols"]
    n = len(symbols)
    return (
        f"Write a {n} x {n} Latin square using these {n} symbols: {', '.join(symbols)}.\n"
        f"Every row and every column must contain each of the {n} symbols exactly once.\n"
        f"Answer with exactly {n} lines, one per row of the square. On each line write the row's {n} symbols "
        f"separated by commas, with no spaces (like {','.join(['X'] * n)}), and nothing else."
    )


def render_sudoku_prompt(reference: dict[str, Any]) -> str:
    """Render the user message of a sudoku row from its stored reference."""
    grid = "\n".join(reference["grid"])
    several = validator.count_sudoku_completions(reference["grid"]) > 1
    return (
        "Solve this 4 x 4 sudoku. Fill in every blank cell (shown as 0) so that each row, each column and each of "
        "the four 2 x 2 boxes contains each of the digits 1, 2, 3 and 4 exactly once. Keep every given digit where "
        f"it is.\n\n{grid}\n\n"
        + ("This puzzle has more than one solution; give any one of them.\n" if several else "")
        + "Answer with the completed grid as exactly 4 lines of 4 digits each, with no spaces or separators "
        "(like 1234), and nothing else."
    )


def render_prompt(reference: dict[str, Any]) -> str:
    """Render the user message of any puzzle row from its stored reference (so the prompt never disagrees with the check)."""
    return render_sudoku_prompt(reference) if "grid" in reference else render_latin_square_prompt(reference)


def _latin_case(config: LatinSquareConfig, rng: RowRandom) -> tuple[dict[str, Any], str]:
    """Draw symbols and a uniform square on them; return (reference, gold answer)."""
    n = config.order
    symbols = rnd.sample(rng, ALPHABETS[config.alphabet], n)
    square = sample_latin_square(rng, n)
    reference = {"symbols": symbols}
    rows = [[symbols[s] for s in row] for row in square]
    return reference, validator.answer_text(validator.puzzle_of(reference), rows)


def _sudoku_case(config: SudokuConfig, rng: RowRandom) -> tuple[dict[str, Any], str, int]:
    """Draw a solution grid and clue cells until the puzzle has at most `max_solutions` completions.

    A uniform (solution, clue cells) pair, kept when the puzzle has few enough completions: with the default
    ``max_solutions=1`` every unique puzzle of that many clues is equally likely (it arises from exactly one pair).

    Returns:
        (reference, gold answer, number of completions).
    """
    while True:
        solution = rnd.choice(rng, validator.sudoku_grids())
        given = set(rnd.sample(rng, range(SUDOKU_CELLS), config.clues))
        cells = [str(digit) if cell in given else validator.SUDOKU_BLANK for cell, digit in enumerate(solution)]
        grid = ["".join(cells[i : i + 4]) for i in range(0, SUDOKU_CELLS, 4)]
        completions = validator.count_sudoku_completions(grid)
        if config.max_solutions is None or completions <= config.max_solutions:
            break
    reference = {"grid": grid}
    rows = [[str(digit) for digit in solution[i : i + 4]] for i in range(0, SUDOKU_CELLS, 4)]
    return reference, validator.answer_text(validator.puzzle_of(reference), rows), completions


def _grid_format(n: int, separator: str) -> str:
    return "\n".join(separator.join(["[MASK]"] * n) for _ in range(n))


def generate_latin_square(config: LatinSquareConfig, rng: RowRandom, index: int) -> Instance:
    """Generate row `index` of a Latin-square task (see `parallelbench.registry.Generator`)."""
    reference, gold = _latin_case(config, rng)
    n = config.order
    return Instance(
        prompt=render_prompt(reference),
        answer=gold,
        reference=reference,
        output_format=_grid_format(n, ","),
        n_answers=validator.LATIN_SQUARE_COUNTS[n],
        metadata={"length": n * n, "order": n, "unit": "cell"},
    )


def generate_sudoku(config: SudokuConfig, rng: RowRandom, index: int) -> Instance:
    """Generate row `index` of a 4x4 sudoku task (see `parallelbench.registry.Generator`).

    The output format masks all 16 cells, clues included: the answer restates the whole grid, and the answer
    units of `enumerate_answers` are the 16 cells too.
    """
    reference, gold, completions = _sudoku_case(config, rng)
    return Instance(
        prompt=render_prompt(reference),
        answer=gold,
        reference=reference,
        output_format=_grid_format(4, ""),
        n_answers=completions,
        metadata={"length": SUDOKU_CELLS, "clues": config.clues, "blanks": SUDOKU_CELLS - config.clues,
                  "unit": "cell"},
    )


TASKS: tuple[TaskSpec, ...] = (
    *(
        TaskSpec(
            name=f"puzzle/latin_square_n{n}",
            config_class=LatinSquareConfig,
            defaults={"order": n},
            generate=generate_latin_square,
            check=validator.check,
            enumerate_answers=validator.enumerate_answers,
        )
        for n in (3, 4, 5, 6)
    ),
    *(
        TaskSpec(
            name=f"puzzle/sudoku_n4_{clues}",
            config_class=SudokuConfig,
            defaults={"clues": clues},
            generate=generate_sudoku,
            check=validator.check,
            enumerate_answers=validator.enumerate_answers,
        )
        for clues in range(4, 15)
    ),
)
