"""`ocr-synth docs ...` / `ocr-synth lines ...`: write seeded data sets to a folder (eval sets)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from ocr_synth import documents, fonts, lines


def _quad_list(quad: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 2), round(float(y), 2)] for x, y in quad]


def write_docs(out: Path, seed: int, count: int, split: str, degrade: bool | None) -> None:
    """NNNNNN.png + NNNNNN.json (a list of {text, quad}) per document."""
    out.mkdir(parents=True, exist_ok=True)
    for i, doc in enumerate(
        tqdm(documents.generate(seed, count, split, degrade), total=count, desc="documents")
    ):
        Image.fromarray(doc.image).save(out / f"{i:06d}.png")
        gt = [{"text": ln.text, "quad": _quad_list(ln.quad)} for ln in doc.lines]
        body = ",\n".join(json.dumps(g, ensure_ascii=False) for g in gt)
        (out / f"{i:06d}.json").write_text(f"[\n{body}\n]\n", encoding="utf-8")


def write_lines(out: Path, seed: int, count: int, split: str, degrade: bool) -> None:
    """NNNNNN.png per line + labels.jsonl ({file, text, quad} per line)."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "labels.jsonl").open("w", encoding="utf-8") as labels:
        for i in tqdm(range(count), desc="lines"):
            sample = lines.render_line(np.random.default_rng([seed, i]), split=split, degrade=degrade)
            name = f"{i:06d}.png"
            Image.fromarray(sample.image).save(out / name)
            record = {"file": name, "text": sample.text, "quad": _quad_list(sample.quad)}
            labels.write(json.dumps(record, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ocr-synth", description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    for name in ("docs", "lines"):
        p = sub.add_parser(name, help=f"write synthetic {name}")
        p.add_argument("--seed", type=int, required=True)
        p.add_argument("--count", type=int, required=True)
        p.add_argument("--split", choices=fonts.SPLITS, default="eval")
        p.add_argument("--out", type=Path, required=True)
        p.add_argument(
            "--degrade", choices=("yes", "no", "random"), default="random" if name == "docs" else "yes"
        )
    args = parser.parse_args(argv)
    degrade = {"yes": True, "no": False, "random": None}[args.degrade]
    if args.what == "docs":
        write_docs(args.out, args.seed, args.count, args.split, degrade)
    else:
        write_lines(
            args.out, args.seed, args.count, args.split, bool(degrade) if degrade is not None else True
        )


if __name__ == "__main__":
    main()
