"""Recognition charsets shipped as package data.

Class ids: 0 is the CTC blank; character ``chars[i]`` is class ``i + 1``. The exported model and the
training code both rely on this convention, so it is decided here only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

BLANK = 0
ASCII_PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
CHINESE_PUNCTUATION = "，。：；！？（）《》、“”‘’【】—…·￥¥％"


def gb2312_level1() -> str:
    """The 3755 level-1 hanzi of GB2312 (rows 0xB0..0xD7), in code order."""
    out = []
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            try:
                out.append(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                continue  # row 0xD7 ends at 0xF9; the rest are undefined
    return "".join(out)


def build_default() -> list[str]:
    """Derive the default charset: ASCII printable, Chinese punctuation, GB2312 level-1 hanzi."""
    chars: list[str] = []
    seen: set[str] = set()
    for ch in ASCII_PRINTABLE + CHINESE_PUNCTUATION + gb2312_level1():
        if ch not in seen:
            seen.add(ch)
            chars.append(ch)
    return chars


@dataclass(frozen=True)
class Charset:
    """An ordered character list with the CTC class mapping (blank = 0, ``chars[i]`` = i + 1)."""

    chars: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c: i + 1 for i, c in enumerate(self.chars)})

    @property
    def num_classes(self) -> int:
        """Number of output classes including the blank."""
        return len(self.chars) + 1

    def index(self, ch: str) -> int:
        """Class id of one character."""
        return self._index[ch]

    def __contains__(self, ch: str) -> bool:
        return ch in self._index

    def encode(self, text: str) -> list[int]:
        """Text -> class ids; raises ValueError naming the characters outside the charset."""
        try:
            return [self._index[c] for c in text]
        except KeyError:
            missing = sorted({c for c in text if c not in self._index})
            raise ValueError(f"characters not in charset: {missing!r} in {text!r}") from None

    def decode(self, ids) -> str:
        """Class ids (blank and -1 ignored) -> text."""
        return "".join(self.chars[i - 1] for i in ids if i > 0)


def read_chars(name: str = "gb2312_l1") -> list[str]:
    """Characters of a shipped charset file (one per line; a line holding only a space is space)."""
    # next to this module: works for wheels and for every editable-install mode (where "crnn" may
    # resolve to a namespace package spanning the repo folder)
    text = (Path(__file__).with_name("charsets") / f"{name}.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def load(name: str = "gb2312_l1") -> Charset:
    """Load a shipped charset by name."""
    return Charset(tuple(read_chars(name)))


def write_default(path) -> None:
    """Regenerate the shipped default charset file."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(c + "\n" for c in build_default()))


if __name__ == "__main__":
    write_default(Path(__file__).with_name("charsets") / "gb2312_l1.txt")
