#!/usr/bin/env bash
# Build the Molecule platform images from the local debian:bookworm (no registry needed).
# Usage: molecule/_images/build.sh   (idempotent: Docker's layer cache makes a rebuild ~1 s)
#   molecule-debian12-systemd:local  Debian 12, systemd
#   molecule-debian12-docker:local   the above + Docker engine (the `site` scenario's hosts)
#   molecule-el9-systemd:local       EL9 as Ansible sees it: Rocky 9 identity, rpm + dnf (README.md)
set -euo pipefail
cd "$(dirname "$0")"
# Both test workers may start it at once (tests/conftest.py): one builds, the other waits and then
# finds every layer in the cache.
exec 9>"${TMPDIR:-/tmp}/ocrstack-molecule-images.lock"
if command -v flock >/dev/null; then flock 9; fi  # util-linux; not on every developer machine
docker build --network host -q -t molecule-debian12-systemd:local debian12-systemd
docker build --network host -q -t molecule-debian12-docker:local debian12-docker
docker build --network host -q -t molecule-el9-systemd:local el9-systemd
