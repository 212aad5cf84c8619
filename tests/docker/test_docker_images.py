"""The images as built from this checkout: what runs inside them, and what they say about themselves."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from ocrstack_testing.pins import canonical, exact_pins
from ocrstack_testing.stack import REPO, VERSION, docker, image_name

pytestmark = [pytest.mark.slow, pytest.mark.docker]


def inspect(image: str) -> dict:
    return json.loads(docker("image", "inspect", image).stdout)[0]


def run_in(image: str, script: str) -> subprocess.CompletedProcess:
    return docker("run", "--rm", "--entrypoint", "bash", image, "-c", script, check=False)


def test_web_image_runs_as_non_root_without_a_compiler_and_pip_check_passes(images):
    run = run_in(images["web"], "id -u; command -v gcc cc g++ c++ cython || echo no-compiler; pip check")
    uid, compilers, pip_check = run.stdout.splitlines()[:3]
    assert run.returncode == 0, run.stdout + run.stderr
    assert uid == "10001"
    assert compilers == "no-compiler"
    assert pip_check == "No broken requirements found."


def test_the_base_image_holds_exactly_the_locked_set_of_distributions(images):
    # requirements/image-constraints.txt (requirements/lock-image) pins every distribution of the
    # virtual environment but TensorFlow and its serving API, whose owners pin them
    locked = exact_pins((REPO / "requirements" / "image-constraints.txt").read_text())
    base = image_name("--flavour", "cpu", "base")
    run = run_in(base, "pip list --local --format json")
    assert run.returncode == 0, run.stderr
    installed = {canonical(d["name"]): d["version"] for d in json.loads(run.stdout)}
    owned = {name: installed.pop(name, None) for name in ("pip", "tensorflow", "tensorflow-serving-api")}
    assert owned["tensorflow"] and owned["tensorflow-serving-api"], owned
    assert installed == locked


# Build arguments that may hold credentials (an index URL with a password). The classic builder
# records every build argument in scope of a RUN, with its value, as `|N NAME=value` in that
# layer's history, so the name followed by "=" in the history means its value would be there too,
# whatever value a build was given (CI builds with none).
SECRET_BUILD_ARGS = ("PIP_INDEX_URL",)


@pytest.mark.parametrize("name", ["base", "web"])
def test_build_arguments_with_credentials_never_land_in_image_history(images, name):
    image = image_name("--flavour", "cpu", name) if name == "base" else images["web"]
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image).stdout
    assert history.strip(), f"no history for {image}"
    for arg in SECRET_BUILD_ARGS:
        recorded = [line[:160] for line in history.splitlines() if f"{arg}=" in line]
        assert recorded == [], f"{image}: {arg} is recorded in its history: {recorded}"


# APT_MIRROR is in scope of the final images' RUNs (docker/base, docker/lb: apt installs what they
# run) and docker/apt-mirror writes it into their apt sources, so a password in it would be in the
# history above and in the image: docker/build refuses one before building anything.
@pytest.mark.parametrize(
    "mirror", ["http://ci:s3cret@mirror.example/debian", "https://t0ken@mirror.example/debian/"]
)
def test_build_refuses_an_apt_mirror_with_credentials_before_building(mirror):
    build = subprocess.run(
        [str(REPO / "docker" / "build"), "--lb", "--no-web"],
        env={**os.environ, "APT_MIRROR": mirror},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert build.returncode == 2, build.stdout + build.stderr
    assert "APT_MIRROR carries credentials" in build.stderr
    assert "s3cret" not in build.stderr and "t0ken" not in build.stderr  # not even in the message
    assert "== building" not in build.stdout


def test_web_image_has_the_compiled_extension_and_both_modes_clients(images):
    code = (
        "import ctpn_bbox.bbox as b, crnn, dbnet.postprocess, ocr_service,"
        " tensorflow_serving.apis.prediction_service_pb2_grpc;"
        "print(b.__file__.endswith('.so'))"
    )
    run = run_in(images["web"], f'python -c "{code}"')
    assert run.stdout.strip() == "True", run.stderr[-2000:]


def last_commit(*paths: str) -> str:
    command = ["git", "log", "-1", "--abbrev=12", "--format=%h", "--", *paths]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()


# what docker/base/Dockerfile copies: a change to the development pins must not rebuild the base
BASE_REQUIREMENTS = (
    "docker/apt-mirror", "versions.env",
    "requirements/runtime.txt", "requirements/tfserving-api.txt", "requirements/image.txt",
    "requirements/image-constraints.txt",
)  # fmt: skip


def test_images_carry_version_and_revision_labels_and_tags(images):
    # web and stand-in: this checkout's revision; base: the last commit of its own inputs, so that a
    # commit elsewhere leaves the base image, and the web image's build cache, as they are
    for tag, revision in (
        (images["web"], last_commit()),
        (images["standin"], last_commit()),
        (image_name("--flavour", "cpu", "base"), last_commit("docker/base", *BASE_REQUIREMENTS)),
    ):
        info = inspect(tag)
        labels = info["Config"]["Labels"]
        assert labels["org.opencontainers.image.version"] == VERSION
        assert labels["org.opencontainers.image.revision"].startswith(revision)
        assert f"{tag}-{labels['org.opencontainers.image.revision']}" in info["RepoTags"]
    web = inspect(images["web"])["Config"]
    assert web["Healthcheck"]["Test"] == ["CMD", "ocr-healthcheck"]
    assert web["User"] == "ocr"
    assert web["Cmd"] == ["ocr-service"]


def test_models_baked_image_reads_without_a_models_mount(images):
    build = subprocess.run(
        [str(REPO / "docker" / "build"), "--flavour", "cpu", "--bake-models"],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    image = image_name("--flavour", "cpu", "web-models")
    run = run_in(
        image, "ls /models/ctpn/1 /models/dbnet/1 /models/crnn/1 && stat -c %U /models/crnn/1/saved_model.pb"
    )
    assert run.returncode == 0, run.stderr
    assert "saved_model.pb" in run.stdout and run.stdout.split()[-1] == "ocr"
