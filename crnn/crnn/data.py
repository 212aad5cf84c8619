"""Training samples: ocr_synth lines -> jittered quad (imperfect detection) -> crop_line -> class ids.

Samples are rendered by background processes (`SampleProducer`); a `ReplayPool` keeps recent ones so
training never waits. `python -m crnn.data` pre-generates shards under ``data/crnn/`` (gitignored)
for machines where rendering is slower than training.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crnn.charset import Charset, load
from crnn.preprocess import HEIGHT, crop_line, line_geometry

# share of lines whose text is random level-1 hanzi, so every class is seen many times
RANDOM_CHARS_SHARE = 0.25
FULL_DEGRADE_SHARE = 0.5  # lines degraded at full (page) strength; the rest mildly
# training lines that also go through a print/capture model (thermal fade, dot matrix, toner
# streaks, perspective, shadow, low resolution, low JPEG: `ocr_synth.capture`)
CAPTURE_SHARE = 0.3
# training lines shrunk to fine print (`ocr_synth.capture.small_print`) before they are cut and
# enlarged to the recogniser's height: lines render at 14-48 px, and 8 px receipt print (capitals
# 5-6 px tall) read 25% CER without them. Hanzi below 7 px of ink are not legible to anyone.
SMALL_PRINT_SHARE = 0.1
SMALL_PRINT_INK = {"latin": (5.0, 11.0), "cjk": (7.0, 12.0)}  # px of the line's ink height
# Latin-only training lines printed in capitals, as receipts, forms and signs print them: mixed-case
# generated text alone taught the recogniser to read a receipt's CHERAS as ChErAS (C, S, O, W, X
# differ from their small letters only in size, which a line normalised to one height hides)
CAPITALS_SHARE = 0.3
# Latin-only training lines whose letters each take a case at random (`mix_case`): with capitals,
# real receipts (150 THANK YOU in sroie/train, no Thank you) and ordinary text alone, the LSTMs
# learned case from the neighbours, not the glyphs: a capital first letter made the rest capitals
# (crnn/8 read small letters of Thank you! as capitals in 9 of 12 clean lines of the held-out Lato,
# of Thanks in 6 of 12 of the training faces). Letters whose case no neighbour predicts leave the
# glyph alone to decide.
MIXED_CASE_SHARE = 0.1
# Generated training lines whose text is a real line's (the --real folders'), recased (`recase`):
# the receipts print words in capitals, and the LSTMs learned them as words (THANK YOU, PLEASE):
# mixed-case lines alone (runs/crnn14, 1205 steps) still left Thank you! in the held-out Lato read
# as THANK YOU!. The same words drawn in small letters and title case tell the words from the case.
RECASED_REAL_SHARE = 0.1
# training lines cut from running text (several sentences, as a wrapped paragraph's line is): single
# generated sentences put 。 only at a line's end (18 mid-line 。 per 1343 mid-line ， in 20000
# lines), so the recogniser learned to read a mid-line 。 as ， (45 of its 172 errors on our set)
RUNNING_TEXT_SHARE = 0.15
# training lines drawn in another width and weight (`ocr_synth.render.reshape_ink`): 14 training
# CJK families still left the held-out Ming (TW-Sung) at 1.4% CER, its thin-stroked hanzi read as
# others of a like shape (runs/crnn6 with it: 1.09%)
RESHAPE_SHARE = 0.5
# rough crop width per character at height 32 (hanzi are about square; Latin about half as wide)
_WIDE_PX, _NARROW_PX = 30.0, 17.0


@dataclass
class Sample:
    crop: np.ndarray  # uint8 [32, W]
    ids: np.ndarray  # int32 [L], classes 1..C-1


def jitter_quad(rng: np.random.Generator, quad: np.ndarray, amount: float = 0.08) -> np.ndarray:
    """Move each corner by up to ``amount`` x line height (vertical) and 1.5x that horizontally.

    Mimics detection boxes that are a little loose, tight or skewed.
    """
    q = np.asarray(quad, np.float32).reshape(4, 2)
    h = 0.5 * (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1]))
    dy = rng.uniform(-amount, amount, size=4) * h
    dx = rng.uniform(-1.5 * amount, 1.5 * amount, size=4) * h
    return q + np.stack([dx, dy], axis=1).astype(np.float32)


def ctc_feasible(ids: np.ndarray, width: int, stride: int = 4) -> bool:
    """CTC needs one step per label plus one blank between equal neighbours (stride px per step)."""
    repeats = int(np.sum(ids[1:] == ids[:-1])) if len(ids) > 1 else 0
    return (width + stride - 1) // stride >= len(ids) + repeats


def _max_chars(text: str, max_width: int) -> int:
    """How many leading characters of ``text`` fit in ``max_width`` crop pixels (estimate)."""
    budget = 0.85 * max_width - 8
    for i, c in enumerate(text):
        budget -= _NARROW_PX if ord(c) < 0x2000 else _WIDE_PX
        if budget < 0:
            return i
    return len(text)


def _pick_text(rng: np.random.Generator, source, cs: Charset, max_width: int, split: str = "train") -> str:
    """A document-like line (random level-1 characters, running text), cut to a window that fits."""
    r = rng.random()
    if r < RANDOM_CHARS_SHARE:
        text = source.line(kind="random_chars")
    elif split == "train" and r < RANDOM_CHARS_SHARE + RUNNING_TEXT_SHARE:
        text = source.paragraph_text(80)
    else:
        text = source.line()
    text = "".join(c for c in text if c in cs).strip()
    n = _max_chars(text, max_width)
    if n < len(text):
        start = int(rng.integers(0, len(text) - n + 1))
        text = text[start : start + n]
    return " ".join(text.split())


def mix_case(rng: np.random.Generator, text: str) -> str:
    """``text`` with each letter in upper or lower case at random (other characters unchanged)."""
    upper = rng.random(len(text)) < 0.5
    return "".join(c.upper() if u else c.lower() for c, u in zip(text, upper, strict=True))


def recase(rng: np.random.Generator, text: str) -> str:
    """``text`` in small letters, with a capital first letter, in title case or in mixed case."""
    form = int(rng.integers(4))
    return mix_case(rng, text) if form == 3 else (str.lower, str.capitalize, str.title)[form](text)


def make_sample(
    rng: np.random.Generator,
    cs: Charset,
    split: str = "train",
    max_width: int = 512,
    source=None,
    stride: int = 4,
    real_texts: Sequence[str] = (),
) -> Sample | None:
    """One training sample, or None when the line is unusable (empty, too wide, CTC-infeasible).

    ``real_texts``: Latin texts of real lines, RECASED_REAL_SHARE of training lines draw one recased.
    """
    from ocr_synth import content, lines

    source = source or content.TextSource(rng)
    if split == "train" and real_texts and rng.random() < RECASED_REAL_SHARE:
        text = recase(rng, real_texts[int(rng.integers(len(real_texts)))])
    else:
        text = _pick_text(rng, source, cs, max_width, split)
        if split == "train" and text.isascii():
            r = rng.random()
            if r < CAPITALS_SHARE:
                text = text.upper()
            elif r < CAPITALS_SHARE + MIXED_CASE_SHARE:
                text = mix_case(rng, text)
    if not text:
        return None
    # half the lines as degraded as a degraded page (blur, noise and JPEG at full strength): the
    # pages the recogniser reads in production are scanned, not rendered
    mild = rng.random() >= FULL_DEGRADE_SHARE
    reshape = split == "train" and rng.random() < RESHAPE_SHARE
    s = lines.render_line(rng, split, text=text, degrade=True, mild=mild, reshape=reshape)
    text = s.text
    if not text or any(c not in cs for c in text):
        return None
    image, quad = s.image, s.quad
    if split == "train" and rng.random() < CAPTURE_SHARE:
        from ocr_synth import capture

        image, (quad,) = capture.apply(rng, image, [quad])
    if split == "train" and rng.random() < SMALL_PRINT_SHARE:
        from ocr_synth import capture

        ink_px = SMALL_PRINT_INK["latin" if text.isascii() else "cjk"]
        image, quad = capture.small_print(rng, image, quad, ink_px)
    crop = crop_line(image, jitter_quad(rng, quad))
    ids = np.asarray(cs.encode(text), np.int32)
    if crop.shape[1] > max_width or not ctc_feasible(ids, crop.shape[1], stride):
        return None
    return Sample(crop, ids)


class RealLines:
    """Labelled lines of real pages (folders in the `ocr_synth.labelled` truth.json format).

    Each line is held in memory as the greyscale neighbourhood it can be cut from (NEIGHBOURHOOD
    line heights around its box: more than the jitter and the crop's margin reach), not as its
    page: the 250 receipts of sroie/train, a fifth of them 600 dpi scans of 35 Mpx, take 0.36 GB
    instead of 1.8 GB.
    Every draw cuts the line with a freshly jittered quad, so the recogniser sees each real line
    with many different (imperfect) detection boxes. Lines with characters outside the charset, or
    too wide / too dense for CTC, are left out once, at load.
    """

    NEIGHBOURHOOD = 0.5  # line heights; jitter_quad moves a corner <= 0.12, crop_line pads 0.1

    def __init__(self, folders: list[str | Path], cs: Charset, max_width: int = 512, stride: int = 4):
        from ocr_synth.labelled import load_folder

        self.lines: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (neighbourhood, quad, ids)
        self.texts: list[str] = []  # each line's text, in the order of `lines`
        self.page_count = 0
        self.skipped = 0
        self.max_width = max_width
        self.stride = stride
        for folder in folders:
            for page in load_folder(folder):
                gray = page.gray()
                self.page_count += 1
                for line in page.lines:
                    text = " ".join(line.text.split())
                    if not text or any(c not in cs for c in text):
                        self.skipped += 1
                        continue
                    ids = np.asarray(cs.encode(text), np.int32)
                    width = crop_line(gray, line.quad, stretch=False).shape[1]
                    if width > max_width or not ctc_feasible(ids, width, stride):
                        self.skipped += 1
                        continue
                    self.lines.append((*self._neighbourhood(gray, line.quad), ids))
                    self.texts.append(text)
        if not self.lines:
            raise ValueError(f"no usable labelled lines in {', '.join(map(str, folders))}")

    @classmethod
    def _neighbourhood(cls, gray: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(a copy of the part of `gray` around `quad`, `quad` in that part's pixels)."""
        q = np.asarray(quad, np.float32).reshape(4, 2)
        reach = cls.NEIGHBOURHOOD * line_geometry(q)[1] + 4
        x0, y0 = np.maximum(np.floor(q.min(axis=0) - reach).astype(int), 0)
        x1, y1 = np.ceil(q.max(axis=0) + reach).astype(int)
        return gray[y0:y1, x0:x1].copy(), q - np.float32([x0, y0])

    def __len__(self) -> int:
        return len(self.lines)

    def latin_texts(self) -> list[str]:
        """The texts of the lines in Latin letters only (what `make_sample` may draw recased)."""
        return [t for t in self.texts if t.isascii() and any(c.isalpha() for c in t)]

    def sample(self, rng: np.random.Generator) -> Sample | None:
        region, quad, ids = self.lines[int(rng.integers(len(self.lines)))]
        crop = crop_line(region, jitter_quad(rng, quad))
        if crop.shape[1] > self.max_width or not ctc_feasible(ids, crop.shape[1], self.stride):
            return None
        return Sample(crop, ids)

    def draw(self, rng: np.random.Generator, count: int) -> list[Sample]:
        return [s for s in (self.sample(rng) for _ in range(count)) if s is not None]


def real_count(synthetic: int, share: float, rng: np.random.Generator) -> int:
    """How many real lines to add to ``synthetic`` new ones so that real lines make up ``share``.

    Randomised rounding keeps the long-run share exact even when batches arrive a few at a time.
    """
    if share <= 0 or synthetic <= 0:
        return 0
    want = synthetic * share / (1.0 - share)
    return int(want) + int(rng.random() < want - int(want))


def _worker(
    seed: int, split: str, max_width: int, out: mp.Queue, chunk: int, stride: int, real_texts: Sequence[str]
) -> None:
    from ocr_synth import content

    rng = np.random.default_rng(seed)
    cs = load()
    source = content.TextSource(rng)
    buf: list[Sample] = []
    while True:
        try:
            s = make_sample(rng, cs, split, max_width, source, stride, real_texts)
        except Exception as e:  # a bad font/text combination must not kill the pool
            print(f"crnn.data worker: skipped a line: {e!r}", flush=True)
            continue
        if s is not None:
            buf.append(s)
        if len(buf) >= chunk:
            out.put(buf)
            buf = []


class SampleProducer:
    """Background processes rendering samples; `poll()` returns what arrived since the last call."""

    def __init__(
        self,
        seed: int,
        workers: int = 1,
        split: str = "train",
        max_width: int = 512,
        chunk: int = 32,
        stride: int = 4,
        real_texts: Sequence[str] = (),
    ):
        ctx = mp.get_context("spawn")
        self.queue: mp.Queue = ctx.Queue(maxsize=16)  # small: the renderers wait instead of running ahead
        self.procs = [
            ctx.Process(
                target=_worker,
                args=(seed * 1000 + i, split, max_width, self.queue, chunk, stride, tuple(real_texts)),
                daemon=True,
            )
            for i in range(workers)
        ]
        for p in self.procs:
            p.start()

    def poll(self, max_chunks: int = 64) -> list[Sample]:
        out: list[Sample] = []
        for _ in range(max_chunks):
            try:
                out.extend(self.queue.get_nowait())
            except Exception:
                break
        return out

    def close(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.join(timeout=5)


def save_shard(path: Path, samples: list[Sample]) -> None:
    """Store samples as one compressed npz (crops concatenated along the width)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        pixels=np.concatenate([s.crop for s in samples], axis=1),
        widths=np.array([s.crop.shape[1] for s in samples], np.int32),
        ids=np.concatenate([s.ids for s in samples]),
        lengths=np.array([len(s.ids) for s in samples], np.int32),
    )
    os.replace(tmp, path)


def load_shard(path: Path) -> list[Sample]:
    with np.load(path) as z:
        pixels, widths, ids, lengths = z["pixels"], z["widths"], z["ids"], z["lengths"]
    xs = np.concatenate([[0], np.cumsum(widths)])
    ls = np.concatenate([[0], np.cumsum(lengths)])
    return [
        Sample(pixels[:, xs[i] : xs[i + 1]].copy(), ids[ls[i] : ls[i + 1]].copy()) for i in range(len(widths))
    ]


def iter_shards(data_dir: Path) -> Iterator[Path]:
    yield from sorted(Path(data_dir).glob("shard-*.npz"))


class ReplayPool:
    """Bounded pool of samples; new samples replace random old ones once full."""

    def __init__(self, capacity: int, rng: np.random.Generator):
        self.capacity = capacity
        self.rng = rng
        self.samples: list[Sample] = []
        self.added = 0

    def __len__(self) -> int:
        return len(self.samples)

    def add(self, samples: list[Sample]) -> None:
        for s in samples:
            if len(self.samples) < self.capacity:
                self.samples.append(s)
            else:
                self.samples[int(self.rng.integers(0, self.capacity))] = s
            self.added += 1

    def batches(
        self,
        batch_size: int,
        groups: int = 4,
        fresh: list[Sample] | None = None,
        max_columns: int | None = None,
    ) -> list[list[Sample]]:
        """Batches of similar widths from ``groups * batch_size`` samples.

        Samples are taken (and removed) from ``fresh`` first, the rest drawn at random from the pool.
        ``max_columns`` bounds lines x widest line of a batch (a batch of wide lines holds fewer
        lines), so that the widest batches cost no more memory than typical ones.
        """
        want = batch_size * groups
        picked: list[Sample] = []
        if fresh:
            picked = fresh[:want]
            del fresh[:want]
        short = min(len(self.samples), want - len(picked))
        if short > 0:
            idx = self.rng.choice(len(self.samples), size=short, replace=False)
            picked += [self.samples[i] for i in idx]
        out: list[list[Sample]] = []
        batch: list[Sample] = []
        for sample in sorted(picked, key=lambda s: s.crop.shape[1]):  # widest last in each batch
            over = max_columns is not None and (len(batch) + 1) * sample.crop.shape[1] > max_columns
            if batch and (len(batch) == batch_size or over):
                out.append(batch)
                batch = []
            batch.append(sample)
        return out + [batch] if batch else out


def collate(samples: list[Sample]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pad a batch: uint8 images [N,32,W,1] (W multiple of 8, 255), widths, 0-padded labels, lengths."""
    widths = np.array([s.crop.shape[1] for s in samples], np.int32)
    w = int(-(-int(widths.max()) // 8) * 8)
    images = np.full((len(samples), HEIGHT, w, 1), 255, np.uint8)
    lengths = np.array([len(s.ids) for s in samples], np.int32)
    labels = np.zeros((len(samples), int(lengths.max())), np.int32)
    for i, s in enumerate(samples):
        images[i, :, : s.crop.shape[1], 0] = s.crop
        labels[i, : len(s.ids)] = s.ids
    return images, widths, labels, lengths


def main(argv: list[str] | None = None) -> None:
    """Pre-generate shards: `python -m crnn.data --out data/crnn --count 20000 --workers 2`."""
    from tqdm import tqdm

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--out", type=Path, default=Path("data/crnn"))
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shard-size", type=int, default=2000)
    ap.add_argument("--max-width", type=int, default=512)
    args = ap.parse_args(argv)
    producer = SampleProducer(args.seed + int(time.time()) % 100000, args.workers, max_width=args.max_width)
    buf: list[Sample] = []
    done = 0
    t0 = time.time()
    with tqdm(total=args.count, unit="line") as bar:
        while done < args.count:
            new = producer.poll()
            if not new:
                time.sleep(0.2)
                continue
            buf.extend(new)
            done += len(new)
            bar.update(len(new))
            while len(buf) >= args.shard_size:
                save_shard(args.out / f"shard-{int(time.time() * 1000)}.npz", buf[: args.shard_size])
                buf = buf[args.shard_size :]
    if buf:
        save_shard(args.out / f"shard-{int(time.time() * 1000)}.npz", buf)
    producer.close()
    print(f"{done} lines in {time.time() - t0:.0f} s ({done / (time.time() - t0):.1f} lines/s)")


if __name__ == "__main__":
    main()
