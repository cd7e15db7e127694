"""The item pools of the generic list-operation tasks: capital letters and common English words.

The waiting-line tasks list people; the paper's synthetic study runs the same operations on plain lists, where
one item is one short token. The word list is authored here (short, common, concrete nouns, all lowercase and
distinct) so that it never changes under a dependency upgrade.
"""

from __future__ import annotations

import re
import string

_PLAIN = re.compile(r"[A-Za-z0-9 '.-]+")


def is_plain(item: str) -> bool:
    """Whether `item` is ASCII text that JSON writes as it is (no quote, backslash or control character)."""
    return _PLAIN.fullmatch(item) is not None


LETTERS: tuple[str, ...] = tuple(string.ascii_uppercase)

WORDS: tuple[str, ...] = (
    "apple", "arm", "baby", "bag", "ball", "bank", "bed", "bell", "bird", "boat",
    "book", "box", "boy", "bread", "bus", "cake", "car", "cat", "chair", "cup",
    "day", "desk", "dog", "door", "duck", "ear", "egg", "eye", "farm", "fish",
    "flag", "floor", "flower", "foot", "fork", "frog", "game", "garden", "girl", "goat",
    "hand", "hat", "head", "hill", "horse", "house", "key", "king", "kite", "lake",
    "lamp", "leaf", "leg", "lion", "map", "milk", "moon", "mouse", "nest", "nose",
    "orange", "owl", "page", "park", "pen", "pig", "plate", "queen", "rain", "ring",
    "river", "road", "rock", "room", "rose", "sea", "sheep", "ship", "shoe", "sky",
    "snow", "sock", "song", "spoon", "star", "stone", "street", "sun", "table", "tree",
    "train", "truck", "van", "wall", "watch", "water", "wind", "window", "wolf", "yard",
)

#: vocabulary name -> (item pool, what one item is called in prompts)
POOLS: dict[str, tuple[tuple[str, ...], str]] = {
    "letters": (LETTERS, "letter"),
    "words": (WORDS, "word"),
}

