#!/usr/bin/env bash
# Build the Molecule platform images from the local debian:bookworm (no registry needed).
# Usage: molecule/_images/build.sh   (idempotent: Docker's layer cache makes a rebuild ~1 s)
set -euo pipefail
cd "$(dirname "$0")"
docker build --network host -q -t molecule-debian12-systemd:local debian12-systemd
docker build --network host -q -t molecule-debian12-docker:local debian12-docker
