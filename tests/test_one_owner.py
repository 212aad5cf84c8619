"""One owner per decision: a default, a version or an image name written a second time fails here.

The owners (docs/architecture.md, "Where each decision lives"): every OCR_* default in
`ocr_service.settings.Settings`; the release in VERSION; TensorFlow's version in versions.env; every
image name in docker/images. These tests read the tracked files of the checkout as a newcomer would
search them.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import MISSING, fields
from pathlib import Path

import pytest
from ocr_service.settings import VARIABLES, Settings, as_environment
from ocrstack_testing.pins import exact_pins

REPO = Path(__file__).resolve().parents[1]
RELEASE = (REPO / "VERSION").read_text().strip()
TF_VERSION = re.search(r"^TF_VERSION=(\S+)$", (REPO / "versions.env").read_text(), re.M).group(1)
# Known restatements, each with the reason it stays (an empty list is the goal).
ALLOWED = {
    # pip requirement files cannot read a variable: the pins must equal TF_VERSION (tested below).
    # nvidia_driver's Facts table (issue 11): the CUDA version each GPU image of this TF version was
    # built for, checked upstream per version; a new TF_VERSION needs new facts there anyway.
    TF_VERSION: {
        "requirements/tensorflow-cpu.txt", "requirements/tfserving-api.txt",
        "roles/nvidia_driver/defaults/main.yml", "roles/nvidia_driver/meta/argument_specs.yml",
        "roles/nvidia_driver/README.md", "molecule/nvidia_driver/side_effect.yml",
        # the images' lock: another distribution (Pygments) at the same number
        "requirements/image-constraints.txt",
    },
    # the Python distributions' own versions (pyproject.toml `version`, ctpn.__version__): pip
    # needs them written out; they are not the images' release. ocr_lb's Molecule scenario lists
    # the image it preloads (owned by another branch; to derive from docker/images when merged).
    RELEASE: {
        "synth/pyproject.toml", "ctpn/pyproject.toml", "dbnet/pyproject.toml", "crnn/pyproject.toml",
        "service/pyproject.toml",
        "ctpn/ctpn/__init__.py", "molecule/ocr_lb/molecule.yml",
        # the images' lock: another distribution (namex) at the same number
        "requirements/image-constraints.txt",
    },
}  # fmt: skip


def tracked_text_files() -> dict[str, str]:
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    out = {}
    for name in names:
        path = REPO / name
        if not name or name.startswith("models/") or not path.is_file():
            continue
        try:
            out[name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # images, SavedModels
    return out


FILES = tracked_text_files()


@pytest.mark.parametrize(("value", "owner"), [(TF_VERSION, "versions.env"), (RELEASE, "VERSION")])
def test_versions_are_written_once(value, owner):
    pattern = re.compile(rf"(?<![\d.]){re.escape(value)}(?![\d])")
    found = {name for name, text in FILES.items() if name != owner and pattern.search(text)}
    assert found - ALLOWED[value] == set(), f"{value} is restated outside {owner}"


def test_pip_pins_follow_versions_env():
    for name in ("requirements/tensorflow-cpu.txt", "requirements/tfserving-api.txt"):
        pins = re.findall(r"^[\w.-]+==(\S+)", FILES[name], re.M)
        assert pins == [TF_VERSION], f"{name}: {pins} != TF_VERSION {TF_VERSION}"


def test_docker_images_names_every_image_from_the_two_version_files():
    def images(*args: str) -> str:
        return subprocess.run(
            [str(REPO / "docker" / "images"), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    assert images("--flavour", "cpu", "web") == f"ocrstack/web:{RELEASE}-cpu"
    assert images("--version", "9.9.9", "lb") == "ocrstack/lb:9.9.9"
    assert images("tfserving") == f"tensorflow/serving:{TF_VERSION}-gpu"
    assert images("--flavour", "gpu", "from") == f"tensorflow/tensorflow:{TF_VERSION}-gpu"
    assert images("--env", "--flavour", "cpu").splitlines() == [
        f"OCR_WEB_IMAGE=ocrstack/web:{RELEASE}-cpu",
        f"TFSERVING_IMAGE=tensorflow/serving:{TF_VERSION}",
    ]


def _default_spellings(value: object) -> set[str]:
    if isinstance(value, bool) or value is None:
        return set()
    if isinstance(value, float) and value.is_integer():
        return {str(value), str(int(value))}
    return {str(value)}


# OCR_MODE is not a default anyone restates: each mode's compose file sets its own mode (single.yml
# "single", tfserving.yml "tfserving"), the one place the mode reaches the service.
SETTING_DEFAULTS = {
    VARIABLES[f.name][0]: _default_spellings(f.default)
    for f in fields(Settings)
    if f.default is not MISSING and f.name != "mode"
}


@pytest.mark.parametrize("variable", sorted(SETTING_DEFAULTS))
def test_no_ocr_setting_default_is_restated(variable):
    # `OCR_X=default` (env files, Dockerfile ENV, Makefile), `OCR_X: default` (compose, YAML) or
    # `${OCR_X:-...}` (a compose default of its own): the service's default lives in Settings only.
    values = "|".join(re.escape(v) for v in SETTING_DEFAULTS[variable]) or r"(?!)"
    restated = rf"\b{variable}\s*[=:]\s*[\"']?({values})[\"']?\s*(?:\\|$|#)"
    pattern = re.compile(rf"{restated}|\$\{{{variable}:?-", re.M)
    owner = "service/ocr_service/settings.py"
    found = sorted(
        name
        for name, text in FILES.items()
        if not name.startswith("tests/") and name != owner and pattern.search(text)
    )
    assert found == [], f"the default of {variable} is restated in {found}; Settings owns it"


def test_deployment_restates_no_service_default_in_ansible():
    # The ocr_stack role has no variable for a service setting: a host sets what it changes in
    # ocr_stack_env, and the service checks it (ocr-service --check-config).
    defaults = FILES["roles/ocr_stack/defaults/main.yml"]
    for name in ("workers", "threads", "timeout", "max_upload", "max_pixels", "log_format", "protocol"):
        assert f"ocr_stack_{name}" not in defaults


def test_the_service_readme_states_the_defaults_settings_has():
    documented = {}
    for names, defaults in re.findall(r"^\| (`OCR_[^|]+) \| (`[^|]+`) \|", FILES["service/README.md"], re.M):
        for name, default in zip(names.split(" / "), defaults.split(" / "), strict=False):
            documented[name.strip("` ")] = default.strip("` ")
    actual = as_environment(Settings(model_dir=Path("/models")))
    assert len(documented) >= 10
    for name, default in documented.items():
        assert float(actual[name]) == float(default) if default.isdigit() else actual[name] == default, (
            f"service/README.md: {name} default {default!r}, Settings: {actual[name]!r}"
        )


def test_the_image_lock_agrees_with_the_runtime_pins():
    """requirements/image-constraints.txt (requirements/lock-image) pins the images' whole set; a pin
    changed in runtime.txt without running lock-image again would make the base image's build fail."""

    locked = exact_pins(FILES["requirements/image-constraints.txt"])
    runtime = exact_pins(FILES["requirements/runtime.txt"])
    assert {n: locked.get(n) for n in runtime} == runtime
