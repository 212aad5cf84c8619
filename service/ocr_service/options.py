"""Per-request options of `/v1/ocr`: parsed and validated here, defaults from `Settings`.

A request may set options in the query string (`?min_confidence=0.5&recognize=false`), as multipart
form fields beside the image, or as keys of its JSON body; a later source wins (query, then form,
then JSON). A value that cannot be used is a 400 `bad_request` that names the option and says what
it accepts; so is an option this service does not know (a typo should not be silently ignored).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import BadRequest

from .settings import Settings

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class OcrOptions:
    # False: detection only, the lines carry boxes and no text (the recogniser is not called).
    recognize: bool
    # Lines read with a lower confidence are left out of the answer (0: keep every line).
    min_confidence: float
    # True: each line also lists its characters with their own confidence and box.
    characters: bool = False

    @classmethod
    def defaults(cls, settings: Settings) -> OcrOptions:
        # recognize and characters are what the endpoint does, not deployment knobs: a request
        # that says nothing gets text and no characters everywhere; the confidence floor is a setting.
        return cls(recognize=True, min_confidence=settings.min_confidence, characters=False)


OPTION_NAMES = ("recognize", "min_confidence", "characters")


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise BadRequest(f"option '{name}' must be true or false, not {_show(value)}")


def _unit(name: str, value: Any) -> float:
    number = math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            number = float(value.strip())
    if not 0.0 <= number <= 1.0:  # NaN fails too
        raise BadRequest(f"option '{name}' must be a number from 0 to 1, not {_show(value)}")
    return number


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def check_fields(sources: Iterable[Mapping[str, Any]], allowed: Iterable[str]) -> dict[str, Any]:
    """`sources` merged (later ones win); a field outside `allowed` is a 400 that lists them."""
    merged: dict[str, Any] = {}
    for source in sources:
        merged.update(source)
    names = tuple(allowed)
    unknown = sorted(str(key)[:40] for key in merged if key not in names)
    if unknown:
        listed = ", ".join(f"'{name}'" for name in names)
        raise BadRequest(f"unknown field(s) {', '.join(repr(u) for u in unknown[:5])}; allowed: {listed}")
    return merged


def parse_options(
    sources: Iterable[Mapping[str, Any]], settings: Settings, ignore: Iterable[str] = ()
) -> OcrOptions:
    """Options from `sources` (later ones win) over the defaults; `ignore`: the image fields."""
    merged = check_fields(sources, allowed=(*ignore, *OPTION_NAMES))
    defaults = OcrOptions.defaults(settings)
    options = OcrOptions(
        recognize=_bool("recognize", merged["recognize"]) if "recognize" in merged else defaults.recognize,
        min_confidence=(
            _unit("min_confidence", merged["min_confidence"])
            if "min_confidence" in merged
            else defaults.min_confidence
        ),
        characters=_bool("characters", merged["characters"])
        if "characters" in merged
        else defaults.characters,
    )
    if options.characters and not options.recognize:
        raise BadRequest("option 'characters' needs the text: it cannot be combined with 'recognize': false")
    return options
