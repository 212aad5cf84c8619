"""Slow: `bundle/build` makes one offline bundle from an image CI built (the load balancer's,
docker/build --lb: ~300 MB, where the web images would add ~3 GB and minutes of `docker save` to CI;
the full bundle runs the same code per flavour), and what an air-gapped controller does with it
works without a network.

Checked as the site would: every file against MANIFEST.json and SHA256SUMS; each tarball holds
exactly the images the manifest names, with the image IDs `docker image inspect` gives; a fresh venv
installs ansible from the bundle's wheels with `pip install --no-index`; the collection tarballs
install with `ansible-galaxy collection install --offline`; the ocr_images role, given the bundle,
loads nothing the controller already has and stops in preflight on an image the bundle lacks.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import venv
from pathlib import Path

import pytest
import yaml
from ocrstack_testing.stack import REPO, WEB_IMAGE, docker, require_docker

pytestmark = [pytest.mark.slow, pytest.mark.docker]

LB_IMAGE = subprocess.run(
    [str(REPO / "docker" / "images"), "lb"], capture_output=True, text=True, check=True
).stdout.strip()
BIN = Path(sys.executable).parent


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    require_docker()
    if docker("image", "inspect", LB_IMAGE, check=False).returncode != 0:
        message = f"{LB_IMAGE} is not built: docker/build --no-web --lb (make images)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("bundle") / "ocrstack-bundle"
    run = subprocess.run(
        [sys.executable, str(REPO / "bundle" / "build"), "--out", str(out), "--no-web"],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return out


def test_every_file_is_in_the_manifest_with_its_sha256(bundle):
    manifest = json.loads((bundle / "MANIFEST.json").read_text())
    listed = {entry["path"]: entry for entry in manifest["files"]}
    on_disk = {str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file()}
    assert on_disk - set(listed) == {"MANIFEST.json", "SHA256SUMS"}
    for path, entry in listed.items():
        assert (bundle / path).stat().st_size == entry["size"], path
        assert _sha256(bundle / path) == entry["sha256"], path
    sums = dict(reversed(line.split("  ", 1)) for line in (bundle / "SHA256SUMS").read_text().splitlines())
    assert sums == {path: entry["sha256"] for path, entry in listed.items()}
    # what the site gets besides the images
    assert any(p.startswith("models/ctpn/") and p.endswith("saved_model.pb") for p in listed)
    assert any(p.startswith("models/crnn/") and p.endswith("saved_model.pb") for p in listed)
    assert any(p.startswith("source/ocrstack-") for p in listed)
    assert any(p.startswith("wheels/controller/ansible-") for p in listed)
    assert any(p.startswith("wheels/ansible-core-2.16/ansible_core-2.16") for p in listed)
    assert (bundle / "README.md").read_text().startswith("# ocrstack offline bundle")


def test_each_tarball_holds_the_images_the_manifest_names_with_their_ids(bundle):
    manifest = json.loads((bundle / "MANIFEST.json").read_text())
    named = [image["name"] for entry in manifest["images"] for image in entry["images"]]
    assert named == [LB_IMAGE]
    for entry in manifest["images"]:
        for image in entry["images"]:
            inspected = docker("image", "inspect", "--format", "{{.Id}}", image["name"]).stdout.strip()
            assert image["id"] == inspected, image["name"]
        # docker save's own index: each image's config digest is its ID, with its tags
        with tarfile.open(bundle / entry["file"]) as tar:
            saved = json.load(tar.extractfile("manifest.json"))
        in_tar = {tag: item["Config"] for item in saved for tag in item.get("RepoTags") or []}
        for image in entry["images"]:
            config = in_tar[image["name"]]
            assert image["id"].removeprefix("sha256:") in config, (image["name"], config)


def _venv_from_wheels(wheels: Path, env_dir: Path) -> Path:
    """A fresh venv with the folder's requirements.txt installed from its wheels alone."""
    venv.create(env_dir, with_pip=True)
    no_pip_config = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    pip = subprocess.run(
        [str(env_dir / "bin" / "pip"), "install", "--no-index", "--find-links", str(wheels),
         "-r", str(wheels / "requirements.txt")],
        capture_output=True, text=True, timeout=900,
        # only the bundle: no pip configuration (files or PIP_* variables: index, find-links, mirror)
        env={**no_pip_config, "PIP_CONFIG_FILE": os.devnull},
    )  # fmt: skip
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    return env_dir


def test_a_fresh_venv_installs_ansible_from_the_bundle_without_an_index(bundle, tmp_path):
    env_dir = _venv_from_wheels(bundle / "wheels" / "controller", tmp_path / "controller")
    version = subprocess.run(
        [str(env_dir / "bin" / "ansible-playbook"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert "core 2.19" in version
    listed = subprocess.run(
        [str(env_dir / "bin" / "ansible-galaxy"), "collection", "list", "community.docker",
         "--format", "json"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    versions = {v["version"] for where in json.loads(listed).values() for v in where.values()}
    assert versions == {"4.8.5"}


def test_ansible_core_alone_gets_the_collections_from_the_bundle_tarballs(bundle, tmp_path):
    """The CentOS 7 lane: ansible-core 2.16 from the bundle's wheels, collections from its tarballs."""
    env_dir = _venv_from_wheels(bundle / "wheels" / "ansible-core-2.16", tmp_path / "controller-216")
    into = tmp_path / "collections"
    galaxy = subprocess.run(
        [str(env_dir / "bin" / "ansible-galaxy"), "collection", "install", "--offline", "-p", str(into),
         *sorted(str(p) for p in (bundle / "collections").glob("*.tar.gz"))],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert galaxy.returncode == 0, galaxy.stdout[-3000:] + galaxy.stderr[-3000:]
    installed = {}
    for manifest in into.glob("ansible_collections/*/*/MANIFEST.json"):
        info = json.loads(manifest.read_text())["collection_info"]
        installed[f"{info['namespace']}.{info['name']}"] = info["version"]
    wanted = yaml.safe_load((REPO / "requirements.yml").read_text())["collections"]
    assert installed == {c["name"]: c["version"] for c in wanted}
    # and ansible-core 2.16 finds them
    listed = subprocess.run(
        [str(env_dir / "bin" / "ansible-doc"), "-t", "module", "-l", "community.docker"],
        capture_output=True, text=True, env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(into)},
    )  # fmt: skip
    assert "community.docker.docker_image_load" in listed.stdout, listed.stderr[-2000:]


def _role(bundle: Path, tmp_path: Path, ship: list[str]) -> subprocess.CompletedProcess:
    """ocr_images with the bundle, the controller as build host and as the one target."""
    inventory = tmp_path / "hosts.yml"
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory.write_text(json.dumps({"all": {"hosts": {"localhost": host}}}))
    extra = {
        "ocr_images_offline_bundle": str(bundle),
        "ocr_images_build": False,
        "ocr_images_tfserving_source": "local",
        "ocr_images_ship": ship,
        "ocr_images_host_archive_dir": str(tmp_path / "host-archives"),
        "ocr_images_archive_dir": str(tmp_path / "archives"),
    }
    play = tmp_path / "play.yml"
    play.write_text(
        json.dumps([{"name": "bundle", "hosts": "localhost", "gather_facts": True, "roles": ["ocr_images"]}])
    )
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), str(play), "-e", json.dumps(extra)],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, "ANSIBLE_ROLES_PATH": str(REPO / "roles"), "ANSIBLE_FORCE_COLOR": "0"},
    )  # fmt: skip


def test_the_role_takes_images_from_the_bundle_and_loads_none_the_controller_has(bundle, tmp_path):
    run = _role(bundle, tmp_path, [LB_IMAGE])
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    assert "changed=0" in out.split("PLAY RECAP")[-1], out[-4000:]
    assert "offline bundle | images loaded on the build host" in out  # the task ran, with nothing to load


def test_an_image_the_bundle_lacks_stops_in_preflight(bundle, tmp_path):
    missing = WEB_IMAGE.replace("-cpu", "-gpu")
    run = _role(bundle, tmp_path, [missing])
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert f"the offline bundle {bundle} lacks {missing}" in out, out[-4000:]
    failed = [line for line in out.splitlines() if line.startswith("TASK [")][-1]
    assert "ocr_images | preflight" in failed, failed
