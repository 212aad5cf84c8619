"""Font discovery: which font families train the models, and which are held out for evaluation.

The "eval" split swaps the CJK families for one the models never saw (WenQuanYi Zen Hei), so an
evaluation set measures generalisation to an unseen typeface rather than memorised glyph shapes; it
keeps the training Latin families, and stays as it is so figures compare across model versions.
The "heldout" split uses no family of training at all: a Hei (WenQuanYi Zen Hei), a Ming/Song
(TW-Sung) and a Latin sans (Lato), each checked to cover every level-1 hanzi / printable ASCII.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont
from PIL import ImageFont

SPLITS = ("train", "eval", "heldout")

# family name as FreeType reports it -> Debian package that ships it
TRAIN_CJK_FAMILIES: dict[str, str] = {
    "WenQuanYi Micro Hei": "fonts-wqy-microhei",
    "Droid Sans Fallback": "fonts-droid-fallback",  # no ASCII: drawn only for texts it covers
    "Noto Sans CJK SC": "fonts-noto-cjk",
    "Noto Serif CJK SC": "fonts-noto-cjk",
    "AR PL UMing CN": "fonts-arphic-uming",
    "AR PL SungtiL GB": "fonts-arphic-gbsn00lp",
    "AR PL UKai CN": "fonts-arphic-ukai",
    "AR PL KaitiM GB": "fonts-arphic-gkai00mp",
    "LXGW WenKai": "fonts-lxgw-wenkai",
    # Noto's faces in the Taiwan standard's glyph forms: the same code points in other shapes
    # (今, 名 ...), so a Ming or Hei from another region is less new to the recogniser. (The AR PL
    # TW faces draw these as their CN faces do: not added.) Faces of fonts-noto-cjk's .ttc.
    "Noto Sans CJK TC": "fonts-noto-cjk",
    "Noto Serif CJK TC": "fonts-noto-cjk",
    # The rest of Debian 12's CJK families that draw every level-1 hanzi (checked with fontTools'
    # cmap): TW-Kai, the Kai of the CNS 11643 project (the Taiwan-standard forms TW-Sung has, such
    # as 关 with the top of 尖, in a Kai: the Ming stays held out); Smiley Sans, a condensed bold
    # oblique display face; BabelStone Han, a Ming grown from Arphic's. Big5-only faces
    # (fonts-arphic-bkai00mp, -bsmi00lp) lack the simplified forms and are not drawn.
    "TW-Kai": "fonts-cns11643-kai",
    "Smiley Sans": "fonts-smiley-sans",
    "BabelStone Han": "fonts-babelstone-han",
    # Hanazono Mincho A: a Japanese Ming (Mincho) that draws every CJK Unified Ideograph of the
    # BMP, each simplified hanzi among them, and ASCII; thin strokes and Japanese glyph forms (将,
    # 亲 ...): another region's Ming, as TW-Sung is to the recogniser. (IPA Mincho and IPAmj Mincho
    # lack 1187 / 896 of the level-1 hanzi: not drawn.)
    "HanaMinA": "fonts-hanazono",
    # Noto Serif CJK's Japanese, Korean and Hong Kong faces: the Ming design of the SC and TC faces
    # in each region's glyph forms (写, 将, 亲 ... in Japanese forms; the traditional components of
    # Korean hanja and the Hong Kong standard), so a character's shape varies as between the Mings of
    # different regions. Simplified hanzi a region lacks are drawn in the SC forms.
    "Noto Serif CJK JP": "fonts-noto-cjk",
    "Noto Serif CJK KR": "fonts-noto-cjk",
    "Noto Serif CJK HK": "fonts-noto-cjk",
}
# More weights of a training family, each drawn as a face of its own (a page picks among faces):
# Noto's Light Sans and Serif (fonts-noto-cjk-extra: the same designs from ExtraLight to Black).
# Thin strokes of a Ming that is not one of the four thin ones above (HanaMinA, AR PL UMing Light,
# BabelStone Han, AR PL SungtiL GB) are what the held-out TW-Sung looks like. Only the train split
# draws them. Their files (and the Medium ones) sort before Noto's Regular: the discovery, which
# takes a family's first face in path order, takes Regular for these families by name.
# The regions' other Mings train in ExtraLight, Noto Serif CJK's thinnest weight: hairline strokes
# as thin as TW-Sung's, in a design of its own (no held-out face is drawn).
TRAIN_CJK_WEIGHTS: dict[str, tuple[str, str]] = {
    "Noto Sans CJK SC": ("Light", "fonts-noto-cjk-extra"),
    "Noto Sans CJK TC": ("Light", "fonts-noto-cjk-extra"),
    "Noto Serif CJK SC": ("Light", "fonts-noto-cjk-extra"),
    "Noto Serif CJK TC": ("Light", "fonts-noto-cjk-extra"),
    "Noto Serif CJK JP": ("ExtraLight", "fonts-noto-cjk-extra"),
    "Noto Serif CJK KR": ("ExtraLight", "fonts-noto-cjk-extra"),
    "Noto Serif CJK HK": ("ExtraLight", "fonts-noto-cjk-extra"),
}
# Mings of Taiwan's standard forms, as the held-out TW-Sung is, that lack part of the level-1 hanzi
# (cwTeX Ming and FangSong are traditional faces: 1171 and 1203 of the 3755 missing, checked with
# fontTools' cmap; every ASCII glyph drawn). A line is only drawn in a font that covers it
# (`covers`), and few generated lines are covered (16%: dates, prices, short words), so training
# lines draw a share of their texts for these faces (`ocr_synth.lines.SPARSE_SHARE`); pages, set in
# one family that prints everything, never use them.
TRAIN_CJK_SPARSE: dict[str, str] = {
    "cwTeXMing": "fonts-cwtex-ming",
    "cwTeXFangSong": "fonts-cwtex-fs",
}
EVAL_CJK_FAMILIES: dict[str, str] = {
    "WenQuanYi Zen Hei": "fonts-wqy-zenhei",
}
HELDOUT_CJK_FAMILIES: dict[str, str] = {
    "WenQuanYi Zen Hei": "fonts-wqy-zenhei",  # Hei
    "TW-Sung": "fonts-cns11643-sung",  # Ming/Song (CNS 11643: every GB2312 level-1 hanzi too)
}
HELDOUT_LATIN_FAMILIES: dict[str, str] = {
    "Lato": "fonts-lato",  # a humanist sans, unlike any training family
}
LATIN_FAMILIES: dict[str, str] = {
    "DejaVu Sans": "fonts-dejavu-core",
    "DejaVu Serif": "fonts-dejavu-core",
    "DejaVu Sans Mono": "fonts-dejavu-core",
    "Liberation Sans": "fonts-liberation2",
    "Liberation Serif": "fonts-liberation2",
    "Liberation Mono": "fonts-liberation2",
}
# Latin families that only train (the "eval" split keeps LATIN_FAMILIES alone, so its pages stay
# the same): serif, sans, mono, condensed and geometric designs, light to regular weights, so that
# no single design's letter widths and shapes is what the recogniser learns. Licences: see
# models/README.md (Training data and terms).
TRAIN_LATIN_EXTRA: dict[str, str] = {
    "Nimbus Sans": "fonts-urw-base35",
    "Nimbus Sans Narrow": "fonts-urw-base35",  # condensed
    "Nimbus Roman": "fonts-urw-base35",
    "Nimbus Mono PS": "fonts-urw-base35",
    "C059": "fonts-urw-base35",
    "P052": "fonts-urw-base35",
    "URW Bookman": "fonts-urw-base35",
    "URW Gothic": "fonts-urw-base35",
    "EB Garamond": "fonts-ebgaramond",
    "Linux Libertine O": "fonts-linuxlibertine",
    "Linux Biolinum O": "fonts-linuxlibertine",
    "Go": "fonts-go",
    "Go Mono": "fonts-go",
    "Carlito": "fonts-crosextra-carlito",
    "Caladea": "fonts-crosextra-caladea",
    "Inconsolata": "fonts-inconsolata",
    "Roboto": "fonts-roboto-unhinted",
    "Roboto Condensed": "fonts-roboto-unhinted",
    "Open Sans": "fonts-open-sans",
    "FreeSans": "fonts-freefont-ttf",
    "FreeSerif": "fonts-freefont-ttf",
    "FreeMono": "fonts-freefont-ttf",
    # humanist sans designs, as the held-out Lato is (open apertures, strokes of a pen's varying
    # width); Cantarell's first face in path order, the one drawn, is its Light one
    "Cantarell": "fonts-cantarell",
    "Andika": "fonts-sil-andika",
}

# FreeType style names we accept; anything else (italic, condensed, extra light) is skipped
_REGULAR_STYLES = frozenset({"Regular", "Book", "Light", "Medium", "Roman", "12 Regular"})
# families whose only face is oblique: that face is their regular one (other families' oblique faces
# stay out, so the pages of the eval split do not change)
_OBLIQUE_ONLY = frozenset({"Smiley Sans"})
_BOLD_STYLES = frozenset({"Bold", "Demi", "12 Bold"})
_FONT_SUFFIXES = (".ttf", ".ttc", ".otf", ".otc")
_MAX_TTC_FACES = 32


@dataclass(frozen=True)
class FontSpec:
    path: str
    index: int  # face index inside a .ttc collection (0 for plain .ttf)
    family: str
    cjk: bool
    bold: bool = False
    weight: str = ""  # a further weight of the family (TRAIN_CJK_WEIGHTS); "" for its usual face


def _font_dirs() -> list[Path]:
    """Standard fontconfig locations, searched when fc-list is absent or misses a file."""
    dirs = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts")]
    data_home = os.environ.get("XDG_DATA_HOME")
    home = Path.home()
    dirs.append(Path(data_home) / "fonts" if data_home else home / ".local/share/fonts")
    dirs.append(home / ".fonts")
    return dirs


def _candidate_files() -> list[str]:
    files: set[str] = set()
    if shutil.which("fc-list"):
        try:
            out = subprocess.run(
                ["fc-list", "--format", "%{file}\n"], capture_output=True, text=True, timeout=30, check=False
            ).stdout
            files.update(line.strip() for line in out.splitlines() if line.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    for root in _font_dirs():
        if root.is_dir():
            for dirpath, _, names in os.walk(root):
                files.update(os.path.join(dirpath, n) for n in names)
    real = {os.path.realpath(f) for f in files if f.lower().endswith(_FONT_SUFFIXES)}
    return sorted(f for f in real if os.path.isfile(f))


def _faces(path: str) -> list[tuple[int, str, str]]:
    """(index, family, style) of every face in a font file."""
    faces = []
    count = _MAX_TTC_FACES if path.lower().endswith((".ttc", ".otc")) else 1
    for index in range(count):
        try:
            family, style = ImageFont.truetype(path, 12, index=index).getname()
        except OSError:
            break
        faces.append((index, family or "", style or ""))
    return faces


@functools.cache
def _all_faces() -> tuple[tuple[str, int, str, str], ...]:
    wanted = (
        set(TRAIN_CJK_FAMILIES)
        | set(TRAIN_CJK_SPARSE)
        | set(EVAL_CJK_FAMILIES)
        | set(HELDOUT_CJK_FAMILIES)
        | set(LATIN_FAMILIES)
        | set(TRAIN_LATIN_EXTRA)
        | set(HELDOUT_LATIN_FAMILIES)
    )
    found = []
    for path in _candidate_files():
        for index, family, style in _faces(path):
            if family in wanted:
                found.append((path, index, family, style))
    return tuple(found)


def discover(split: str) -> list[FontSpec]:
    """Fonts for a split, regular and bold faces, in a stable order (so seeded runs repeat)."""
    return list(_discover(split))


@functools.cache
def _discover(split: str) -> tuple[FontSpec, ...]:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    cjk_families, latin_families = {
        "train": ({**TRAIN_CJK_FAMILIES, **TRAIN_CJK_SPARSE}, {**LATIN_FAMILIES, **TRAIN_LATIN_EXTRA}),
        "eval": (EVAL_CJK_FAMILIES, LATIN_FAMILIES),
        "heldout": (HELDOUT_CJK_FAMILIES, HELDOUT_LATIN_FAMILIES),
    }[split]
    families = {
        **{f: (p, True) for f, p in cjk_families.items()},
        **{f: (p, False) for f, p in latin_families.items()},
    }
    weights = TRAIN_CJK_WEIGHTS if split == "train" else {}
    specs: dict[tuple[str, bool, str], FontSpec] = {}
    for path, index, family, style in _all_faces():
        if family not in families:
            continue
        extra = weights.get(family, ("", ""))[0]
        weight = ""
        if style == extra:
            bold, weight = False, style
        elif family in TRAIN_CJK_WEIGHTS and style in _REGULAR_STYLES:
            # Noto's Medium and Light files sort before its Regular one: its usual face is Regular
            if style != "Regular":
                continue
            bold = False
        elif style in _REGULAR_STYLES or (family in _OBLIQUE_ONLY and style == "Oblique"):
            bold = False
        elif style in _BOLD_STYLES:
            bold = True
        else:
            continue
        key = (family, bold, weight)
        if key not in specs:  # first in sorted path order wins: deterministic
            specs[key] = FontSpec(path, index, family, cjk=families[family][1], bold=bold, weight=weight)
    missing = sorted(f for f in families if (f, False, "") not in specs and (f, True, "") not in specs)
    missing_weights = sorted(f for f, (style, _) in weights.items() if (f, False, style) not in specs)
    if missing or missing_weights:
        packages = sorted({families[f][0] for f in missing} | {weights[f][1] for f in missing_weights})
        missing += [f"{f} {weights[f][0]}" for f in missing_weights]
        raise RuntimeError(
            f"font families missing for split {split!r}: {', '.join(missing)}; "
            f"install the Debian package(s): apt-get install {' '.join(packages)}"
        )
    return tuple(sorted(specs.values(), key=lambda s: (not s.cjk, s.family, s.bold, s.weight)))


def sparse(split: str) -> list[FontSpec]:
    """The split's faces of TRAIN_CJK_SPARSE: drawn only for texts they cover."""
    return [s for s in discover(split) if s.family in TRAIN_CJK_SPARSE]


@functools.lru_cache(maxsize=2048)
def load(spec: FontSpec, size: int) -> ImageFont.FreeTypeFont:
    """A PIL font for a spec and pixel size; cached because opening a big .ttc costs milliseconds."""
    return ImageFont.truetype(spec.path, size, index=spec.index)


def covers(spec: FontSpec, text: str) -> bool:
    """Whether the font has a glyph for every character of `text` (whitespace aside).

    A missing glyph would be drawn as the font's empty box while the label says otherwise, so a
    text is only ever drawn in a font that covers it (Droid Sans Fallback has no ASCII; the
    Arphic GB fonts have no ¥).
    """
    cmap = _codepoints(spec.path, spec.index)
    return all(ord(c) in cmap for c in text if not c.isspace())


@functools.cache
def _codepoints(path: str, index: int) -> frozenset[int]:
    if path.lower().endswith((".ttc", ".otc")):
        with TTCollection(path, lazy=True) as collection:
            return frozenset(collection.fonts[index].getBestCmap())
    with TTFont(path, fontNumber=index, lazy=True) as font:
        return frozenset(font.getBestCmap())
