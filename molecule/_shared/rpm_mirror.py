#!/usr/bin/env python3
"""Build signed yum/dnf repositories for the el9 Molecule platform (molecule/_shared/vars/el9_mirror.yml).

Runs INSIDE the test instance (python3, rpmbuild, rpmsign, createrepo_c, modifyrepo_c, gpg: the
molecule-el9-systemd image). Input: a JSON file {"root": DIR, "gnupghome": DIR, "repos": [...]}:

  repo = {"path": "compute/cuda/repos/rhel9/x86_64",   # URL path under the mirror root
          "packages_dir": "",                           # where the .rpm files go, relative to path
          "modules": "nvidia-driver",                   # optional: modules.yaml as NVIDIA makes it
          "packages": [pkg, ...]}
  pkg  = {"name", "version" or "versions": [...] (one package per version; "{version}" in
          requires/provides/... is replaced), "release", "epoch" (opt.), "arch" (x86_64|noarch),
          "requires": [...], "provides": [...], "obsoletes": [...], "conflicts": [...],
          "files": {"/abs/path": "content"},            # empty payload when no files
          "files_from": {"/abs/path": "/path/in/instance"},  # payload copied from the instance
          "post": "shell"}                              # optional %post scriptlet
  repo["same_as"] = "other/path": the rpms of that (earlier) repository, with their own repodata

Every package is signed with the test key (rpmsign, RSA: what EL9's rpm accepts), every repository
gets repodata/ (createrepo_c) and a detached armored signature repodata/repomd.xml.asc (what dnf
checks with repo_gpgcheck=1). Output is the layout only; the caller serves it over HTTP.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

GPG_NAME = "ocrstack test rpm archive"

# nvidia-driver module metadata, following NVIDIA's generator for its CUDA repositories:
# NVIDIA/yum-packaging-precompiled-kmod genmodules.py (commit b20498c). Per driver branch (major)
# four streams: <major>, <major>-dkms, latest, latest-dkms; the artifacts of a stream are every
# rpm of BRANCH_PKGS in that major, the newest dnf-plugin-nvidia, and for the -dkms streams the
# kmod-nvidia-latest-dkms of the branch's newest version only; profiles default/fm/ks; defaults
# document: stream latest-dkms, profile default.
BRANCH_PKGS = [
    "nvidia-driver", "nvidia-driver-libs", "nvidia-driver-devel", "nvidia-driver-NVML",
    "nvidia-driver-NvFBCOpenGL", "nvidia-driver-cuda", "nvidia-driver-cuda-libs",
    "nvidia-persistenced", "nvidia-modprobe", "nvidia-settings", "nvidia-libXNVCtrl",
    "nvidia-libXNVCtrl-devel", "nvidia-xconfig", "nvidia-kmod-common", "cuda-drivers",
]  # fmt: skip
LATEST_PKGS = ["dnf-plugin-nvidia"]


def run(*argv: str, env: dict | None = None) -> str:
    res = subprocess.run(argv, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res.stdout


def vkey(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in version.split("."))


def nevra(pkg: dict) -> str:
    return (
        f"{pkg['name']}-{pkg.get('epoch', 0)}:{pkg['version']}-{pkg['release']}.{pkg.get('arch', 'x86_64')}"
    )


def expand(packages: list[dict]) -> list[dict]:
    """One package per entry of "versions", with "{version}" replaced in its dependency lists."""
    out = []
    for pkg in packages:
        for version in pkg.get("versions", [pkg.get("version")]):
            one = {k: v for k, v in pkg.items() if k != "versions"}
            one["version"] = version
            for tag in ("requires", "provides", "obsoletes", "conflicts"):
                one[tag] = [s.replace("{version}", version) for s in pkg.get(tag, [])]
            out.append(one)
    return out


def spec_text(group: list[dict]) -> str:
    """One spec for packages that share epoch, version, release, arch: the first is the main package,
    the others are subpackages (one rpmbuild run for them all: rpmbuild's start-up is the cost)."""
    main = group[0]
    lines = [
        f"Name: {main['name']}",
        f"Version: {main['version']}",
        f"Release: {main['release']}",
        "Summary: ocrstack test stand-in (empty payload unless files are given)",
        "License: test-only",
        "AutoReqProv: no",
    ]
    if "epoch" in main:
        lines.append(f"Epoch: {main['epoch']}")
    install, sections, n = [], [], 0
    for i, pkg in enumerate(group):
        head = (
            []
            if i == 0
            else [f"%package -n {pkg['name']}", f"Summary: ocrstack test stand-in of {pkg['name']}"]
        )
        if i == 0:  # a group has one arch (rpmbuild allows only noarch subpackages of an arch package)
            head.append(f"BuildArch: {pkg.get('arch', 'x86_64')}")
        for tag in ("requires", "provides", "obsoletes", "conflicts"):
            head += [f"{tag.capitalize()}: {value}" for value in pkg.get(tag, [])]
        suffix = "" if i == 0 else f" -n {pkg['name']}"
        head += [
            f"%description{suffix}",
            f"Test stand-in for {pkg['name']} (molecule/_shared/vars/el9_mirror.yml).",
        ]
        if i == 0:
            lines += head
        else:
            sections += head
        for path in pkg.get("files", {}):
            install.append(f"install -D -m 0755 %{{_sourcedir}}/file{n} %{{buildroot}}{path}")
            n += 1
        for path, src in pkg.get("files_from", {}).items():
            install.append(f"install -D -m 0755 {src} %{{buildroot}}{path}")
        if pkg.get("post"):
            sections += [f"%post{suffix}", pkg["post"]]
        sections += [f"%files{suffix}", *pkg.get("files", {}), *pkg.get("files_from", {})]
    return "\n".join([*lines, *sections_before_install(sections, install)]) + "\n"


def sections_before_install(sections: list[str], install: list[str]) -> list[str]:
    """%package/%description sections, then %install, then the %post/%files sections."""
    preamble = []
    rest = []
    in_files = False
    for line in sections:
        if line.startswith(("%post", "%files")):
            in_files = True
        elif line.startswith("%package"):
            in_files = False
        (rest if in_files else preamble).append(line)
    return [*preamble, "%install", *install, *rest]


def build(group: list[dict], top: Path) -> list[Path]:
    work = Path(tempfile.mkdtemp(dir=top))
    for sub in ("SPECS", "SOURCES", "BUILD", "RPMS", "BUILDROOT"):
        (work / sub).mkdir()
    contents = [c for pkg in group for c in pkg.get("files", {}).values()]
    for i, content in enumerate(contents):
        (work / "SOURCES" / f"file{i}").write_text(content if content.endswith("\n") else content + "\n")
    spec = work / "SPECS" / f"{group[0]['name']}.spec"
    spec.write_text(spec_text(group))
    # uncompressed payloads: compressing the engine binaries would cost minutes on 2 cores
    run("rpmbuild", "-bb", "--quiet", "--define", f"_topdir {work}", "--define", "_build_id_links none",
        "--define", "__os_install_post %{nil}", "--define", "_binary_payload w0.ufdio",
        str(spec))  # fmt: skip
    built = list((work / "RPMS").rglob("*.rpm"))
    moved = []
    for rpm in built:
        dest = top / rpm.name
        shutil.move(str(rpm), dest)
        moved.append(dest)
    shutil.rmtree(work)
    return moved


def modules_yaml(packages: list[dict]) -> str:
    """modulemd v2 documents for nvidia-driver, per genmodules.py (see BRANCH_PKGS)."""
    drivers = sorted(
        (p for p in packages if p["name"] == "nvidia-driver"), key=lambda p: vkey(p["version"]), reverse=True
    )
    by_major: dict[str, dict] = {}
    for p in drivers:  # newest first: the first of a major is that branch's version
        by_major.setdefault(p["version"].split(".")[0], p)
    branches = [(m, p["version"], False) for m, p in by_major.items()]
    branches = sorted(
        branches + [(f"{m}-dkms", v, True) for m, v, _ in branches], key=lambda b: vkey(b[1]), reverse=True
    )
    newest = drivers[0]["version"]
    branches = [("latest", newest, False), ("latest-dkms", newest, True)] + branches
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d%H%M%S")
    docs = []
    for stream, version, dkms in branches:
        major = version.split(".")[0]
        arts = [
            nevra(p)
            for name in BRANCH_PKGS
            for p in packages
            if p["name"] == name and p["version"].split(".")[0] == major
        ]
        present = sorted(
            {p["name"] for p in packages if p["name"] in BRANCH_PKGS and p["version"].split(".")[0] == major}
        )
        for name in LATEST_PKGS:
            cands = sorted(
                (p for p in packages if p["name"] == name), key=lambda p: vkey(p["version"]), reverse=True
            )
            arts += [nevra(cands[0])] if cands else []
        if dkms:
            arts += [
                nevra(p)
                for p in packages
                if p["name"] == "kmod-nvidia-latest-dkms" and p["version"] == version
            ]
        profile = present + (["kmod-nvidia-latest-dkms"] if dkms else [])
        context = hashlib.md5(f"nvidia-driver{stream}{stamp}el9".encode()).hexdigest()[:10]
        docs.append(
            "document: modulemd\nversion: 2\ndata:\n"
            f"    name: nvidia-driver\n    stream: {stream}\n    version: {stamp}\n    context: {context}\n"
            f"    arch: x86_64\n    summary: Nvidia driver for {stream} branch\n"
            "    description: >-\n"
            f"        Test stand-in of NVIDIA's nvidia-driver module, driver version {version}.\n"
            "    license:\n        module:\n            - MIT\n"
            "    artifacts:\n        rpms:\n"
            + "".join(f"            - {a}\n" for a in arts)
            + "    profiles:\n"
            + "".join(
                f"        {name}:\n            description: {desc}\n            rpms:\n"
                + "".join(f"                - {r}\n" for r in rpms)
                for name, desc, rpms in (
                    ("default", "Default installation", profile),
                    ("fm", "FabricManager installation", profile),
                    ("ks", "Installation via kickstart", [r for r in profile if "cuda-drivers" not in r]),
                )
            )
            + "...\n"
        )
    docs.append(
        "document: modulemd-defaults\nversion: 1\ndata:\n    module: nvidia-driver\n    stream: latest-dkms\n"
        "    profiles:\n" + "".join(f"        {s}: [default]\n" for s, _, _ in branches) + "...\n"
    )
    return "---\n" + "---\n".join(docs)


def main() -> None:
    cfg = json.loads(Path(sys.argv[1]).read_text())
    root = Path(cfg["root"])
    env = dict(os.environ, GNUPGHOME=cfg["gnupghome"])
    top = Path(tempfile.mkdtemp(prefix="rpm-mirror-"))
    for repo in cfg["repos"]:
        base = root / repo["path"]
        pkgdir = base / repo.get("packages_dir", "")
        pkgdir.mkdir(parents=True, exist_ok=True)
        if repo.get("same_as"):  # the same rpms in a second layout (Docker's centos/ and rhel/)
            shutil.copytree(
                root / repo["same_as"], base, dirs_exist_ok=True, ignore=shutil.ignore_patterns("repodata")
            )
        packages = [] if repo.get("same_as") else expand(repo.get("packages", []))
        groups: dict[tuple, list[dict]] = {}
        for pkg in packages:
            key = (pkg.get("epoch"), pkg["version"], pkg["release"], pkg.get("arch", "x86_64"))
            groups.setdefault(key, []).append(pkg)
        rpms = []
        for group in groups.values():
            for rpm in build(group, top):
                # Fedora/EPEL and Rocky keep their rpms in Packages/<first letter>/
                subdir = pkgdir / rpm.name[0].lower() if repo.get("letter_dirs") else pkgdir
                subdir.mkdir(parents=True, exist_ok=True)
                rpms.append(str(shutil.move(str(rpm), subdir / rpm.name)))
        if rpms:
            run(
                "rpmsign",
                "--define",
                "__gpg /usr/bin/gpg",
                "--define",
                f"_gpg_name {GPG_NAME}",
                "--addsign",
                *rpms,
                env=env,
            )
        run("createrepo_c", "--quiet", str(base))
        if repo.get("modules") == "nvidia-driver":
            modfile = top / "modules.yaml"
            modfile.write_text(modules_yaml(packages))
            run("modifyrepo_c", "--mdtype=modules", str(modfile), str(base / "repodata"))
        repomd = base / "repodata" / "repomd.xml"
        run("gpg", "--batch", "--yes", "--armor", "--detach-sign", "-u", GPG_NAME,
            "-o", f"{repomd}.asc", str(repomd), env=env)  # fmt: skip
        print(f"{repo['path']}: {len(rpms)} packages")
    shutil.rmtree(top)


if __name__ == "__main__":
    main()
