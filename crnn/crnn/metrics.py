"""Recognition metrics shared by crnn-eval and the end-to-end evaluator."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from rapidfuzz.distance import Levenshtein

_FULL_TO_HALF = str.maketrans(
    {
        "，": ",",
        "。": ".",
        "：": ":",
        "；": ";",
        "！": "!",
        "？": "?",
        "（": "(",
        "）": ")",
        "【": "[",
        "】": "]",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "、": ",",
        "《": "<",
        "》": ">",
        "—": "-",
        "…": "...",
        "·": ".",
        "￥": "¥",
        "％": "%",
    }
)
_WS = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC, full-width punctuation to half-width, all whitespace removed.

    Used for the 'normalised' CER so that ',' vs '，' or a missing space between hanzi does not
    count as an error.
    """
    text = unicodedata.normalize("NFKC", text).translate(_FULL_TO_HALF)
    return _WS.sub("", text)


def edits(pred: str, ref: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions all cost 1)."""
    return Levenshtein.distance(pred, ref)


def cer(pred: str, ref: str) -> float:
    """Character error rate of one line: edits / len(ref) (edits / 1 for an empty reference)."""
    return edits(pred, ref) / max(len(ref), 1)


def corpus_cer(preds: Iterable[str], refs: Iterable[str], normalized: bool = False) -> float:
    """Total edits / total reference characters over a corpus."""
    total_e = total_n = 0
    for p, r in zip(preds, refs, strict=True):
        if normalized:
            p, r = normalize(p), normalize(r)
        total_e += edits(p, r)
        total_n += len(r)
    return total_e / max(total_n, 1)


def line_accuracy(preds: Iterable[str], refs: Iterable[str], normalized: bool = False) -> float:
    """Fraction of lines read exactly."""
    pairs = list(zip(preds, refs, strict=True))
    if normalized:
        pairs = [(normalize(p), normalize(r)) for p, r in pairs]
    return sum(p == r for p, r in pairs) / max(len(pairs), 1)
