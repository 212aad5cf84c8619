"""Image sizes and build times: base, web, and what the web image adds on top of the base.

Runs `docker/build` twice: once cold (`--no-cache`: every layer rebuilt, every package downloaded)
and once with the cache warm (what a rebuild after a code change costs is in between: only the
layers from the changed COPY onwards). Build output goes to a log file; the figures are printed.

    python bench/images.py [--flavour cpu] [--skip-cold] [--log /tmp/bench-images.log]

Mirrors and the extra CA come from the environment as for docker/build (EXTRA_CA_FILE, ...).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILT = re.compile(r"^== built (\S+) in (\d+) s")


def build(flavour: str, log: Path, no_cache: bool) -> tuple[float, dict[str, int]]:
    command = [str(REPO / "docker" / "build"), "--flavour", flavour, "--standin", "--lb"]
    if no_cache:
        command.append("--no-cache")
    start = time.monotonic()
    with log.open("a") as out:
        subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=True)
    seconds = time.monotonic() - start
    per_image = {}
    for line in log.read_text().splitlines():
        if match := BUILT.match(line):
            per_image[match[1]] = int(match[2])  # the last build of each image wins
    return seconds, per_image


def image(tag: str) -> dict:
    info = json.loads(
        subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=True).stdout
    )
    return info[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flavour", default="cpu", choices=("cpu", "gpu"))
    parser.add_argument("--skip-cold", action="store_true", help="only the cached build")
    parser.add_argument("--log", type=Path, default=Path("/tmp/bench-images.log"))
    args = parser.parse_args()
    args.log.write_text("")
    version = (REPO / "VERSION").read_text().strip()

    runs = {}
    if not args.skip_cold:
        runs["cold (--no-cache)"] = build(args.flavour, args.log, no_cache=True)
    runs["cached"] = build(args.flavour, args.log, no_cache=False)

    print(f"{'build':<20}{'total s':>9}{'base s':>8}{'web s':>7}{'lb s':>6}{'standin s':>11}")
    for name, (total, per_image) in runs.items():
        base, web, lb, standin = (per_image.get(k, 0) for k in ("base", "web", "lb", "tfserving-standin"))
        print(f"{name:<20}{total:>9.0f}{base:>8}{web:>7}{lb:>6}{standin:>11}")

    base = image(f"ocrstack/base:{version}-{args.flavour}")
    web = image(f"ocrstack/web:{version}-{args.flavour}")
    base_layers = set(base["RootFS"]["Layers"])
    added = [layer for layer in web["RootFS"]["Layers"] if layer not in base_layers]
    mb = 1e6
    print(f"\nbase image   {base['Size'] / mb:8.0f} MB  ({len(base_layers)} layers)")
    print(f"web image    {web['Size'] / mb:8.0f} MB  ({len(web['RootFS']['Layers'])} layers)")
    added_mb = (web["Size"] - base["Size"]) / mb
    lb = image(f"ocrstack/lb:{version}")
    print(f"lb image     {lb['Size'] / mb:8.0f} MB")
    print(f"web on base  {added_mb:8.1f} MB  ({len(added)} layers added: what a new release ships to a host)")


if __name__ == "__main__":
    main()
