"""A prior over hanzi for decoding: how often real text uses each one, over how often training did.

The recogniser learns p(character | image) under the character distribution of its training lines,
and a quarter of the generated ones are random level-1 hanzi (`crnn.data.RANDOM_CHARS_SHARE`): 巳 is
drawn about as often as many common characters, 哦 as often as 或. Real text is not like that (已 is
hundreds of times more frequent than 巳). The export adds

    weight * log(p_real(c) / p_generated(c))

to each hanzi's logit before decoding: the prior-shift correction of a classifier trained under one
class distribution and used under another, scaled down because the training lines were not only
generated ones. A close call between look-alike glyphs (已 / 巳 in a thin Ming, 或 / 哦) goes to
the character real text uses; a character the image shows clearly is read as before. Latin
letters, digits, punctuation and the CTC blank get no bias: the prior knows nothing of them.

p_real: character counts of the dictionary of jieba 0.42.1 (MIT licence, Copyright (c) 2013 Sun
Junyi; README of github.com/fxsjy/jieba), each word's frequency added to each of its hanzi, shipped
as `frequencies/hanzi_frequency.tsv`. Its word frequencies were counted from real text; the author
never published the corpus (fxsjy/jieba issues #7 and #896: People's Daily segmentation corpora
and other texts), so they are a broad estimate of modern written Chinese, not of any one domain
(`python -m crnn.prior --jieba-dict <jieba>/dict.txt` writes it again). p_generated: counted at
export from the generator's training text (`crnn.data`), so the bias follows the generator.
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from pathlib import Path

import numpy as np

from crnn.charset import BLANK, Charset

# Chosen on the held-out typefaces' validation pages (`ocr-evaluate --split heldout --seed 777`, the
# truth's boxes; never the test pages) with crnn/5: line CER 1.43% -> 1.33 / 1.28 / 1.24 / 1.26% at
# weight 0.2 / 0.3 / 0.4 / 0.5, our own set (seed 12345) 0.37% at 0.3 and 0.40% at 0.4, real
# receipts unchanged (their lines hold no hanzi). models/README.md has the figures end to end.
WEIGHT = 0.3
# The largest bias, in logits, either way: a hanzi the dictionary never uses (a rare surname
# character) is made 55x less likely at weight 1, not impossible.
CLIP = 4.0
# Generated training lines counted for p_generated (about 30 s; the counts of 60,000 lines are
# within a few percent of those of 600,000 for all but the rarest characters).
GENERATED_LINES = 60_000
FREQUENCY_FILE = "hanzi_frequency.tsv"

# The licence of jieba (github.com/fxsjy/jieba, LICENSE), whose dictionary the counts come from: its
# notice goes with them (the header of the counts' file).
JIEBA_LICENCE = """The MIT License (MIT)

Copyright (c) 2013 Sun Junyi

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
the Software, and to permit persons to whom the Software is furnished to do so,
subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE."""


def is_hanzi(char: str) -> bool:
    """A CJK Unified Ideograph of the Basic Multilingual Plane (all the charset's hanzi)."""
    return len(char) == 1 and "\u4e00" <= char <= "\u9fff"


def read_counts(name: str) -> dict[str, int]:
    """`key<TAB>count` rows of the package's `frequencies/<name>` (comment lines skipped)."""
    text = resources.files("crnn").joinpath("frequencies", name).read_text(encoding="utf-8")
    counts = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, count = line.split("\t")
            counts[key] = int(count)
    return counts


def real_counts() -> dict[str, int]:
    """Counts of each hanzi in real text (the package's `frequencies/hanzi_frequency.tsv`)."""
    return read_counts(FREQUENCY_FILE)


def jieba_words(dict_path: Path) -> Iterator[tuple[str, int]]:
    """(word, frequency) of each line of a jieba dictionary (`word frequency [tag]`)."""
    with open(dict_path, encoding="utf-8") as lines:
        for line in lines:
            word, frequency = line.split()[:2]
            yield word, int(frequency)


def counts_from_jieba(dict_path: Path) -> Counter[str]:
    """Hanzi counts of a jieba dictionary: a word's frequency is added to each of its hanzi."""
    counts: Counter[str] = Counter()
    for word, frequency in jieba_words(dict_path):
        for char in word:
            if is_hanzi(char):
                counts[char] += frequency
    return counts


def generated_counts(cs: Charset, lines: int = GENERATED_LINES, seed: int = 0) -> Counter[str]:
    """Hanzi counts of `lines` generated training lines (needs the `train` extra: ocr_synth)."""
    from ocr_synth import content

    from crnn.data import _pick_text

    rng = np.random.default_rng(seed)
    source = content.TextSource(rng)
    counts: Counter[str] = Counter()
    for _ in range(lines):
        counts.update(c for c in _pick_text(rng, source, cs, 800) if is_hanzi(c))
    return counts


def prior_bias(
    cs: Charset,
    real: Mapping[str, int],
    generated: Mapping[str, int],
    weight: float = WEIGHT,
    clip: float = CLIP,
) -> np.ndarray:
    """The bias added to each class's logit (float32 [num_classes]); zero where no hanzi.

    Both distributions are add-one smoothed over the charset's hanzi, so a character one of them
    never saw still gets a finite bias (then clipped to +-`clip` before the weight).
    """
    bias = np.zeros(cs.num_classes, dtype=np.float32)
    hanzi = [c for c in cs.chars if is_hanzi(c)]
    if not hanzi or weight == 0:
        return bias
    real_total = sum(real.get(c, 0) for c in hanzi) + len(hanzi)
    generated_total = sum(generated.get(c, 0) for c in hanzi) + len(hanzi)
    for char in hanzi:
        ratio = ((real.get(char, 0) + 1) / real_total) / ((generated.get(char, 0) + 1) / generated_total)
        bias[cs.index(char)] = weight * float(np.clip(math.log(ratio), -clip, clip))
    bias[BLANK] = 0.0
    return bias


def counts_command(
    argv: list[str] | None, file_name: str, count: Callable[[Path], Mapping[str, int]], description: str
) -> tuple[Mapping[str, int], Path]:
    """The command that writes `frequencies/<file_name>` from a jieba dictionary: `count(dict path)`
    gives the rows (most frequent first), `description` the header's first lines (before the licence)."""
    ap = argparse.ArgumentParser(description=f"Write frequencies/{file_name} from a jieba dictionary.")
    ap.add_argument("--jieba-dict", type=Path, required=True, help="jieba 0.42.1's jieba/dict.txt")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "frequencies" / file_name)
    args = ap.parse_args(argv)
    counts = count(args.jieba_dict)
    rows = "".join(f"{key}\t{n}\n" for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    licence = "".join(f"# {line}".rstrip() + "\n" for line in JIEBA_LICENCE.splitlines())
    header = f"# {description} The dictionary's licence:\n#\n" + licence
    args.out.write_text(header + rows, encoding="utf-8")
    return counts, args.out


def main(argv: list[str] | None = None) -> None:
    counts, out = counts_command(
        argv,
        FREQUENCY_FILE,
        counts_from_jieba,
        "hanzi\tcount: each word's frequency in the dictionary of jieba 0.42.1 (jieba/dict.txt) added to\n"
        "# each of its hanzi; written by python -m crnn.prior.",
    )
    print(f"{len(counts)} hanzi, {sum(counts.values())} in all -> {out}")


if __name__ == "__main__":
    main()
