"""State of a host the ocr_images role shipped images to: the same image IDs as the controller's
engine (the build host), under the same tags, and no tarball left behind."""

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
RELEASE = (REPO / "VERSION").read_text().strip()
MOLECULE = f"{RELEASE}-molecule"
# The web and lb images the role built in converge (version <VERSION>-molecule), and the stand-in it
# shipped as it was.
VERSIONS = {
    f"ocrstack/web:{MOLECULE}-cpu": MOLECULE,
    f"ocrstack/lb:{MOLECULE}": MOLECULE,
    f"ocrstack/tfserving-standin:{RELEASE}": RELEASE,
}
IMAGES = list(VERSIONS)


def _controller_id(name: str) -> str:
    return subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", name],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.mark.parametrize("name", IMAGES)
def test_host_has_the_controllers_image_id(host, name):
    inside = host.check_output(f"docker image inspect --format '{{{{.Id}}}}' {name}").strip()
    assert inside == _controller_id(name)


@pytest.mark.parametrize("name", IMAGES)
def test_image_labels_survived(host, name):
    version = host.check_output(
        "docker image inspect --format "
        f"'{{{{index .Config.Labels \"org.opencontainers.image.version\"}}}}' {name}"
    ).strip()
    assert version == VERSIONS[name]


def _label(name: str, label: str) -> str:
    fmt = f'{{{{index .Config.Labels "{label}"}}}}'
    return subprocess.run(
        ["docker", "image", "inspect", "--format", fmt, name], check=True, capture_output=True, text=True
    ).stdout.strip()


def _last_commit(*paths: str) -> str:
    command = ["git", "log", "-1", "--abbrev=12", "--format=%h", "--", *paths]
    return subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()


@pytest.mark.parametrize(
    ("name", "inputs"),
    [(f"ocrstack/web:{MOLECULE}-cpu", ()), (f"ocrstack/lb:{MOLECULE}", ("docker/lb", "docker/apt-mirror"))],
)
def test_images_were_built_under_the_revision_of_their_inputs(host, name, inputs):
    """As docker/build tags them: a commit that does not touch docker/lb keeps the lb image."""
    revision = _label(name, "org.opencontainers.image.revision")
    assert revision.removesuffix("-dirty") == _last_commit(*inputs)
    assert _controller_id(f"{name}-{revision}") == _controller_id(name)


def test_web_image_runs_inside_the_host(host):
    out = host.check_output(
        f"docker run --rm --entrypoint python ocrstack/web:{MOLECULE}-cpu "
        "-c 'import ocr_service, ctpn, dbnet.postprocess, crnn; print(\"ok\")'"
    )
    assert out.strip() == "ok"


def test_no_tarball_left_on_the_host(host):
    folder = host.file("/var/tmp/ocrstack-images")
    assert folder.is_directory
    assert folder.mode == 0o700
    assert host.check_output("ls -A /var/tmp/ocrstack-images") == ""


def test_no_tarball_left_on_the_build_host():
    # The build host is the controller here; its tarball folder is the scenario's ephemeral one.
    folder = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "images"
    assert sorted(p.name for p in folder.glob("*.tar")) == []
