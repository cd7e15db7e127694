"""The oracle's exact accuracy: every decoding order and every outcome, weighted, in rational arithmetic.

A *state* is what is left to decode: the still-consistent answers restricted to the masked slots (an n x m matrix of
value numbers) and the block of each masked slot. Its accuracy is the probability that decoding from it ends on a
correct answer. One step chooses a set S of eligible slots (the rule's distribution over sets, ties broken uniformly)
and their values (each from its own marginal: sampled, or argmax with a uniform tie-break); the answers that agree
with those values form the next state, and no agreeing answer means failure.

Memoisation is on states up to renaming: each slot's values are renumbered by first appearance and the answers
sorted, so isomorphic states (every shuffle state that has already gone wrong, the same answer structure in two
rows) are computed once. The renumbered state is always a true image of the original, so sharing is sound; it only
may miss some isomorphic pairs. Chosen sets that differ only in columns that split the answers the same way
(constant columns, say) share one computation too.

Scores are compared exactly: confidences and margins as counts over the same number of answers, entropies as the
bit-identical floats of `count_entropy`; thresholds (``threshold``, ``factor``) are checked on float64 confidences,
exactly as the engine checks them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from fractions import Fraction

import numpy as np

from .engine import dynamic_counts
from .oracle import AnswerSet, OracleSetup, count_entropy

#: Default budget of one exact computation, in work units: one unit per (state, chosen set) pair plus one per 2000
#: consistent answers it splits, which is about a third of a millisecond of work each.
MAX_WORK = 20_000
#: States with more answers than this skip the (costlier) swap test for interchangeable slots.
SWAP_TEST_MAX_ROWS = 256


class TooLarge(Exception):
    """The exact computation would take more than its work budget."""


def _renumber(rows: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Renumber each column's values by first appearance within each group of rows (rows sorted by group)."""
    n, m = rows.shape
    width = int(rows.max()) + 1
    keys = ((group[:, None] * m + np.arange(m)[None, :]) * width + rows).ravel()  # (group, column, value)
    unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    group_column = unique // width
    order = np.lexsort((first, group_column))  # each (group, column)'s values by first appearance
    sorted_group_column = group_column[order]
    rank = np.empty(len(unique), dtype=rows.dtype)
    rank[order] = np.arange(len(unique)) - np.searchsorted(sorted_group_column, sorted_group_column, side="left")
    return rank[inverse.reshape(-1)].reshape(n, m)


def canonical_groups(rows: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Put every group of rows into its memo form: values renumbered by first appearance, rows sorted; twice.

    Args:
        rows: (n, m) value numbers; each group is the consistent answers of one state, restricted to its masked slots.
        group: (n,) group number of each row, non-decreasing.

    Returns:
        The rows (each group isomorphic to its input group, isomorphic groups usually equal) and their group numbers.
    """
    if rows.size == 0:
        return rows, group
    for _ in range(2):
        rows = _renumber(rows, group)
        order = np.lexsort((*rows.T[::-1], group))
        rows, group = rows[order], group[order]
    return rows, group


def canonical(rows: np.ndarray) -> np.ndarray:
    """The memo form of one state's rows (see `canonical_groups`)."""
    return canonical_groups(rows, np.zeros(len(rows), dtype=np.int64))[0]


def exact_accuracy(answers: AnswerSet, setup: OracleSetup, max_work: int = MAX_WORK) -> Fraction:
    """Return the oracle's exact probability of decoding a correct answer.

    Args:
        answers: The answer set (its length must be ``setup.length``).
        setup: Schedule, rule and value picks.
        max_work: Budget in work units (see `MAX_WORK`).

    Returns:
        The accuracy as a `Fraction`.

    Raises:
        TooLarge: When the computation needs more than `max_work`.
    """
    if answers.length != setup.length:
        raise ValueError(f"the answers have {answers.length} slots but the setup has {setup.length}")
    if not setup.dynamic and all(count == 1 for counts in setup.block_counts().values() for count in counts):
        return Fraction(1)  # one slot per step never leaves the consistent answers: the decode is always right
    if len(answers) == 1:
        return Fraction(1)  # every marginal is certain: any decode is right
    solver = _Solver(setup, max_work)
    block_of = tuple(block for block, (start, end) in enumerate(setup.blocks()) for _ in range(start, end))
    if solver.least_work(answers.codes, block_of) > max_work:
        raise TooLarge
    return solver.accuracy(answers.codes, block_of)


class _Solver:
    """One exact computation: the recursion over states, with its memo and its work budget.

    The memo lives for one computation only, so whether a computation fits its budget never depends on what ran
    before it (calibration results are then the same in any order and with any number of processes).
    """

    def __init__(self, setup: OracleSetup, max_work: int) -> None:
        self.setup = setup
        self.memo: dict[tuple, Fraction] = {}
        self.work_left = max_work
        self.block_size = [end - start for start, end in setup.blocks()]
        self.block_counts = setup.block_counts()
        self.value_dependent = setup.values == "sample" and setup.rule in ("confidence", "threshold", "factor")

    def least_work(self, rows: np.ndarray, blocks: tuple[int, ...]) -> int:
        """A quick estimate of the work, to skip hopeless computations before they start.

        The first step's distinct chosen sets (up to interchangeable slots) are counted, and a fixed schedule's later
        steps are assumed to shrink in proportion to their number of candidate sets (C(masked, step size)); the
        rules that choose their own step sizes count the first step only. Counting stops past the budget.
        """
        eligible = [j for j, block in enumerate(blocks) if block == blocks[0]]
        counts = [np.bincount(rows[:, j]) for j in range(rows.shape[1])]
        orbit = _column_orbits(rows, eligible)
        candidate_sets = []
        for (start, end), step_sizes in zip(self.setup.blocks(), self.block_counts.values()):
            left = end - start
            for size in step_sizes:
                candidate_sets.append(math.comb(left, size))
                left -= size
        growth = 1.0 if self.setup.dynamic else sum(candidate_sets) / candidate_sets[0]
        kinds = 0
        for _ in self._choices(blocks[0], eligible, counts, len(rows), orbit):
            kinds += 1
            if kinds * growth > self.work_left:
                break
        return math.ceil(kinds * growth)

    def accuracy(self, rows: np.ndarray, blocks: tuple[int, ...]) -> Fraction:
        """Accuracy of the state whose consistent answers on the masked slots are `rows`."""
        if rows.shape[1] == 0 or rows.shape[0] == 1:
            return Fraction(1)  # nothing left to decide: every remaining pick is forced and right
        rows = canonical(rows)
        return self._value((blocks, rows.tobytes()), rows, blocks)

    def _value(self, key: tuple, rows: np.ndarray, blocks: tuple[int, ...]) -> Fraction:
        """Accuracy of a state already in memo form."""
        cached = self.memo.get(key)
        if cached is None:
            cached = self.memo[key] = self._expand(rows, blocks)
        return cached

    def _expand(self, rows: np.ndarray, blocks: tuple[int, ...]) -> Fraction:
        """Sum over the rule's choices of slots and their value outcomes of probability times the next accuracy."""
        n = rows.shape[0]
        eligible = [j for j, block in enumerate(blocks) if block == blocks[0]]
        counts = [np.bincount(rows[:, j]) for j in range(rows.shape[1])]
        orbit = _column_orbits(rows, eligible)
        total = Fraction(0)
        for chosen, scale, pattern_weights in self._choices(blocks[0], eligible, counts, n, orbit):
            total += scale * self._chosen_value(rows, blocks, chosen, pattern_weights)
        return total

    def _chosen_value(self, rows: np.ndarray, blocks: tuple[int, ...], chosen: tuple[int, ...],
                      pattern_weights: Callable[[np.ndarray], list]) -> Fraction | int:
        """Sum over the chosen slots' value patterns of their weight times the accuracy of the next state."""
        rest = [j for j in range(rows.shape[1]) if j not in chosen]
        rest_blocks = tuple(blocks[j] for j in rest)
        self.work_left -= 1 + len(rows) // 2000
        if self.work_left < 0:
            raise TooLarge
        patterns, bounds, children = _outcomes(rows, chosen, rest)
        blob, width = children.tobytes(), children.shape[1] * children.itemsize
        value: Fraction | int = 0  # an outcome that leaves one answer adds its weight: certain success
        weights: dict[bytes, Fraction | int] = {}
        starts: dict[bytes, int] = {}
        for index, weight in enumerate(pattern_weights(patterns)):
            start, end = bounds[index], bounds[index + 1]
            if not weight:
                continue
            if start == end:
                value += weight
            else:
                key = blob[start * width:end * width]
                weights[key] = weights.get(key, 0) + weight
                starts.setdefault(key, start)
        for key, weight in weights.items():
            child = children[starts[key]:starts[key] + len(key) // width]
            value += weight * self._value((rest_blocks, key), child, rest_blocks)
        return value

    def _choices(self, block: int, eligible: list[int], counts: list[np.ndarray], n: int,
                 orbit: dict[int, int]) -> Iterator[tuple]:
        """Yield (chosen slots, a scale, a function: their values -> weight) such that the probability of choosing
        these slots, or any set an interchange of slots maps them to, with these values is scale * weight."""
        setup = self.setup
        if self.value_dependent:
            sizes = [self._fixed_count(block, eligible)] if setup.rule == "confidence" else range(1, len(eligible) + 1)
            levels = {j: _confidence_levels(counts[j]) for j in eligible}
            for size in sizes:
                for chosen, ways in _kinds(eligible, orbit, size):
                    others = [levels[j] for j in eligible if j not in chosen]
                    yield chosen, Fraction(ways, n ** size), self._sampled_weight(chosen, counts, others, n,
                                                                                  len(eligible))
            return
        scores = [self._score(counts[j]) for j in eligible]
        if setup.dynamic:
            confidence = np.sort([counts[j].max() / n for j in eligible])[::-1]
            count = int(dynamic_counts(setup.rule, confidence[None, :], np.array([len(eligible)]), setup.threshold,
                                       setup.factor, setup.factor_mode)[0])
        else:
            count = self._fixed_count(block, eligible)
        for chosen, probability in _top_sets(eligible, scores, count, orbit):
            chosen_counts = [counts[j] for j in chosen]
            if setup.values == "sample":
                yield chosen, probability / n ** len(chosen), lambda patterns, c=chosen_counts: _product(c, patterns)
            else:
                ties = math.prod(int((c == c.max()).sum()) for c in chosen_counts)
                yield chosen, probability / ties, lambda patterns, c=chosen_counts: _all_top(c, patterns)

    def _fixed_count(self, block: int, eligible: list[int]) -> int:
        """The scheduled step size when `eligible` slots of `block` are still masked."""
        done = self.block_size[block] - len(eligible)
        for count in self.block_counts[block]:
            if done == 0:
                return min(count, len(eligible))
            done -= count
        raise AssertionError("a state fell between two steps of the schedule")

    def _score(self, column_counts: np.ndarray) -> float:
        """A slot's ranking score when it does not depend on the sampled value (higher is chosen first)."""
        rule = self.setup.rule
        if rule == "random":
            return 0.0
        if rule == "margin":
            top = np.sort(column_counts)[::-1]
            return float(top[0] - (top[1] if len(top) > 1 else 0))
        if rule == "entropy":
            return -float(count_entropy(column_counts))
        return float(column_counts.max())  # confidence, threshold, factor under argmax values

    def _sampled_weight(self, chosen: tuple[int, ...], counts: list[np.ndarray], others: list[dict[int, int]],
                        n: int, n_eligible: int) -> Callable[[np.ndarray], list[Fraction]]:
        """Weight of sampled values under a confidence rule: their counts times the probability the rule picks them."""
        chosen_counts = [counts[j].tolist() for j in chosen]
        by_own: dict[tuple[int, ...], Fraction] = {}
        ties_by_floor: dict[int, list[int]] = {}  # the others' tie polynomial depends on min(own) only

        def weights(patterns: np.ndarray) -> list[Fraction]:
            result = []
            for pattern in patterns.tolist():
                own = tuple(chosen_counts[t][v] for t, v in enumerate(pattern))
                if own not in by_own:
                    by_own[own] = math.prod(own) * _choice_probability(self.setup, list(own), others, n, n_eligible,
                                                                      ties_by_floor)
                result.append(by_own[own])
            return result
        return weights


def _all_top(counts: list[np.ndarray], patterns: np.ndarray) -> list[int]:
    """Per pattern, 1 when every value is its slot's argmax (a tie-break can pick it), else 0."""
    on_top = np.ones(len(patterns), dtype=bool)
    for t, column_counts in enumerate(counts):
        on_top &= column_counts[patterns[:, t]] == column_counts.max()
    return on_top.astype(np.int64).tolist()


def _product(counts: list[np.ndarray], patterns: np.ndarray) -> list[int]:
    """Per pattern, the product of its values' counts (exact integers)."""
    exact_in_int64 = math.prod(int(c.sum()) for c in counts) < 2 ** 62
    product = np.ones(len(patterns), dtype=np.int64 if exact_in_int64 else object)
    for t, column_counts in enumerate(counts):
        product = product * column_counts.astype(product.dtype)[patterns[:, t]]
    return product.tolist()


def _column_orbits(rows: np.ndarray, eligible: list[int]) -> dict[int, int]:
    """Group the eligible columns into classes within which every swap of two columns is an automorphism.

    A swap of columns i and j (with some renaming of their values) that maps the set of answers onto itself shows
    that the two columns play the same role. Swaps generate every permutation within a connected class, so two
    chosen sets that meet every class equally often lead to the same accuracy. Each column is compared with the first
    column of each existing class with the same value counts: equal after renumbering (a free swap), or, in states of
    at most `SWAP_TEST_MAX_ROWS` answers, by `_swap_is_automorphism`. A missed symmetry only costs time.

    Returns:
        Eligible column -> the first column of its class.
    """
    if len(eligible) < 2:
        return {j: j for j in eligible}
    representatives: list[int] = []
    orbit = {}
    profile = {j: sorted(np.bincount(rows[:, j]).tolist()) for j in eligible}
    renumbered = _renumber(rows, np.zeros(len(rows), dtype=np.int64))
    for j in eligible:
        same_profile = [r for r in representatives if profile[r] == profile[j]]
        orbit[j] = next((r for r in same_profile if np.array_equal(renumbered[:, r], renumbered[:, j])), j)
        if orbit[j] == j and len(rows) <= SWAP_TEST_MAX_ROWS:
            orbit[j] = next((r for r in same_profile if _swap_is_automorphism(rows, r, j)), j)
        if orbit[j] == j:
            representatives.append(j)
    return orbit


def _row_codes(rows: np.ndarray) -> np.ndarray:
    """One integer per row that two rows share exactly when they are equal (mixed radix; rows that need more than
    62 bits get the index of their distinct row instead)."""
    radices = [int(column.max()) + 1 for column in rows.T]
    if math.prod(radices) >= 2 ** 62:
        return np.unique(rows, axis=0, return_inverse=True)[1].reshape(-1)
    code = np.zeros(len(rows), dtype=np.int64)
    for column, radix in zip(rows.T, radices):
        code = code * radix + column
    return code


def _swap_is_automorphism(rows: np.ndarray, i: int, j: int) -> bool:
    """Whether swapping columns i and j, then renaming the values of those two columns, maps the rows onto themselves.

    The renaming is read off the answers that the other columns identify on their own (a row whose values outside
    i and j no other row shares must map to the row with the same values there); values it leaves open are paired
    in order of first appearance. Whatever the renaming, the final check of the whole row set keeps the answer sound.
    """
    table = rows.tolist()

    def rest_of(row: list[int]) -> tuple[int, ...]:
        return tuple(v for c, v in enumerate(row) if c != i and c != j)

    by_rest: dict[tuple, list[list[int]]] = {}
    for row in table:
        by_rest.setdefault(rest_of(row), []).append(row)
    renaming: tuple[dict[int, int], dict[int, int]] = ({}, {})
    for row in table:  # the swapped row has row[j] in column i and row[i] in column j
        targets = by_rest[rest_of(row)]  # swapping i and j leaves the other columns alone
        if len(targets) == 1:
            for side, (source, target) in enumerate(((row[j], targets[0][i]), (row[i], targets[0][j]))):
                if renaming[side].setdefault(source, target) != target:
                    return False
    for side, (source_column, target_column) in enumerate(((j, i), (i, j))):
        mapping = renaming[side]
        if len(set(mapping.values())) != len(mapping):
            return False
        taken = set(mapping.values())
        free_sources = [v for v in dict.fromkeys(row[source_column] for row in table) if v not in mapping]
        free_targets = [v for v in dict.fromkeys(row[target_column] for row in table) if v not in taken]
        mapping.update(zip(free_sources, free_targets))
    image = set()
    for row in table:
        swapped = list(row)
        swapped[i], swapped[j] = renaming[0].get(row[j], -1), renaming[1].get(row[i], -1)
        image.add(tuple(swapped))
    return image == set(map(tuple, table))


def _outcomes(rows: np.ndarray, chosen: tuple[int, ...], rest: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a state's answers by the values they take on the chosen slots.

    Returns:
        The distinct value patterns (G, len(chosen)); bounds (G + 1,) such that the next state after pattern g is
        ``children[bounds[g]:bounds[g + 1]]`` in memo form, empty when one answer or no masked slot is left (the rest
        of the decode is then certain to succeed); and the children rows.
    """
    sub = rows[:, list(chosen)]
    _, first, group = np.unique(_row_codes(sub), return_index=True, return_inverse=True)
    group = group.reshape(-1)
    sizes = np.bincount(group, minlength=len(first))
    keep = sizes[group] > 1 if rest else np.zeros(len(group), dtype=bool)
    order = np.argsort(group[keep], kind="stable")
    children, child_group = canonical_groups(rows[keep][order][:, rest], group[keep][order])
    return sub[first], np.searchsorted(child_group, np.arange(len(first) + 1)), children


def _top_sets(eligible: list[int], scores: list[float], count: int,
              orbit: dict[int, int]) -> Iterator[tuple[tuple[int, ...], Fraction]]:
    """Yield the sets of `count` highest-scoring slots, one per kind (see `_kinds`), with the probability that a
    uniform tie-break picks a set of that kind."""
    cut = sorted(scores, reverse=True)[count - 1]
    above = [j for j, score in zip(eligible, scores) if score > cut]
    tied = [j for j, score in zip(eligible, scores) if score == cut]
    need = count - len(above)
    for picked, ways in _kinds(tied, orbit, need):
        yield tuple(sorted(above + list(picked))), Fraction(ways, math.comb(len(tied), need))


def _kinds(pool: list[int], orbit: dict[int, int], size: int) -> Iterator[tuple[tuple[int, ...], int]]:
    """Yield one representative of every way to pick `size` slots of `pool` up to interchangeable slots, with the
    number of picks it stands for: picks that take as many slots from each class of `orbit` lead to one accuracy."""
    classes: dict[int, list[int]] = {}
    for j in pool:
        classes.setdefault(orbit[j], []).append(j)
    members = list(classes.values())
    room = [sum(len(group) for group in members[index:]) for index in range(len(members) + 1)]

    def pick(index: int, left: int) -> Iterator[tuple[tuple[int, ...], int]]:
        if left > room[index]:
            return
        if index == len(members):
            yield (), 1
            return
        group = members[index]
        for taken in range(min(left, len(group)) + 1):
            for rest, ways in pick(index + 1, left - taken):
                yield tuple(group[:taken]) + rest, math.comb(len(group), taken) * ways

    yield from pick(0, size)


def _confidence_levels(column_counts: np.ndarray) -> dict[int, int]:
    """Distribution of a slot's confidence (as a count c) when its value is sampled, in units of 1/n:
    P(count = c) = c * #values with count c / n."""
    levels: dict[int, int] = {}
    for count in column_counts.tolist():
        if count:
            levels[count] = levels.get(count, 0) + count
    return levels


def _choice_probability(setup: OracleSetup, own: list[int], others: list[dict[int, int]], n: int,
                        n_eligible: int, ties_by_floor: dict[int, list[int]]) -> Fraction:
    """Probability that a confidence rule picks exactly the chosen slots, given their sampled confidences `own`
    (counts), when the other eligible slots' confidences are random with distributions `others` (in units of 1/n).

    The chosen set must be the top of the ranking: every other confidence is at most s = min(own), and among the
    e chosen and u other slots tied at s the tie-break must put the e chosen first (probability 1 / C(e + u, e)).
    The rule adds a bound b that every other confidence must stay under (threshold: tau; factor: the threshold of the
    next position) and conditions on the chosen confidences themselves. For one chosen set the bound does not depend
    on the values, so the polynomial of the others' ties is kept per s in `ties_by_floor`.
    """
    s = min(own)
    bound = math.inf
    if setup.rule == "threshold":
        if s / n >= setup.threshold:
            bound = setup.threshold
        elif len(own) > 1:
            return Fraction(0)
    elif setup.rule == "factor":
        checked = len(own) - 1 if setup.factor_mode == "fastdllm" and len(own) == n_eligible else len(own)
        descending = sorted(own, reverse=True)
        if any(descending[p - 1] / n < 1.0 - setup.factor / (p + 1) for p in range(2, checked + 1)):
            return Fraction(0)
        if len(own) < n_eligible:
            if setup.factor_mode == "fastdllm" and len(own) == n_eligible - 1:
                return Fraction(0)
            bound = 1.0 - setup.factor / (len(own) + 2)
    if s not in ties_by_floor:
        polynomial = [1]  # coefficient u (times n ** len(others)): u other slots tie at s and none is above
        for levels in others:
            below = sum(weight for c, weight in levels.items() if c < s and c / n < bound)
            tied = levels.get(s, 0) if s / n < bound else 0
            polynomial = [a * below + b * tied for a, b in zip(polynomial + [0], [0] + polynomial)]
        ties_by_floor[s] = polynomial
    e = own.count(s)
    total = sum((Fraction(coefficient, math.comb(e + u, e)) for u, coefficient in enumerate(ties_by_floor[s])
                 if coefficient), Fraction(0))
    return total / n ** len(others)
