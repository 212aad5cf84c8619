"""State of a host the ocr_stack role converged: files, containers, and OCR answered on its port.

The expected mode is the one converge used: MOLECULE_OCR_MODE, else <ephemeral dir>/ocr_mode
(written by the side effect: the switch to tfserving), else single.
"""
import json
import os
import shlex
from pathlib import Path

import pytest


def _mode() -> str:
    if os.environ.get("MOLECULE_OCR_MODE"):
        return os.environ["MOLECULE_OCR_MODE"]
    mode_file = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "ocr_mode"
    return mode_file.read_text().strip() if mode_file.exists() else "single"


def _version() -> str:
    """The release converge deployed: <ephemeral dir>/ocr_version (the upgrade), else VERSION."""
    version_file = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "ocr_version"
    if version_file.exists():
        return version_file.read_text().strip()
    return (Path(__file__).resolve().parents[3] / "VERSION").read_text().strip()


MODE = _mode()
VERSION = _version()
PORT = 18080
COMPOSE = "/opt/ocrstack/compose"
EXPECTED_SERVICES = {"single": {"web"}, "tfserving": {"web", "tfserving"}}[MODE]


def _env(host) -> dict:
    content = host.file(f"{COMPOSE}/.env").content_string
    return dict(
        line.split("=", 1) for line in content.splitlines() if line and not line.startswith("#")
    )


def _project_containers(host) -> list:
    out = host.check_output(
        "docker ps -a --filter label=com.docker.compose.project=ocrstack "
        "--format '{{json .}}'"
    )
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_env_file_written_from_inventory(host):
    env = _env(host)
    assert env["OCR_PROJECT"] == "ocrstack"
    assert env["OCR_PUBLISH_ADDRESS"] == "0.0.0.0"
    assert env["OCR_PUBLISH_PORT"] == str(PORT)
    assert env["OCR_MODELS_DIR"] == "/opt/ocrstack/models"
    # Only what the inventory set (ocr_stack_env): no service default is restated in the .env.
    ocr_settings = {k: v for k, v in env.items() if k.startswith("OCR_") and k not in _DEPLOYMENT_VARIABLES}
    assert ocr_settings == {"OCR_WORKERS": "1", "OCR_LOG_FORMAT": "text"}
    assert host.file(f"{COMPOSE}/.env").mode == 0o644


_DEPLOYMENT_VARIABLES = {
    "OCR_PROJECT", "OCR_WEB_IMAGE", "OCR_PUBLISH_ADDRESS", "OCR_PUBLISH_PORT", "OCR_MODELS_DIR",
    "OCR_TFSERVING_CONFIG_DIR", "OCR_WEB_MEMORY_LIMIT", "OCR_WEB_PIDS_LIMIT",
}  # fmt: skip


def test_the_service_runs_with_the_inventorys_settings_and_its_own_defaults(host):
    env = host.check_output("docker exec ocrstack-web-1 env")
    settings = dict(line.split("=", 1) for line in env.splitlines() if line.startswith("OCR_"))
    assert settings["OCR_MODE"] == MODE  # the compose file of the mode decides it, nothing else
    assert settings["OCR_WORKERS"] == "1"
    assert "OCR_THREADS" not in settings and "OCR_MAX_PIXELS" not in settings  # service defaults


def test_the_stack_runs_the_images_of_the_deployed_release(host):
    # ocr_version decides every image name (role ocr, docker/images): after the upgrade converge
    # the containers run the next release's images.
    expected = {"web": f"ocrstack/web:{VERSION}-cpu", "tfserving": f"ocrstack/tfserving-standin:{VERSION}"}
    for service in EXPECTED_SERVICES:
        image = host.check_output(f"docker inspect --format '{{{{.Config.Image}}}}' ocrstack-{service}-1")
        assert image == expected[service]
    env = _env(host)
    assert env["OCR_WEB_IMAGE"] == expected["web"]
    assert env["TFSERVING_IMAGE"] == expected["tfserving"]


def test_models_in_tf_serving_layout(host):
    for name in ("ctpn", "dbnet", "crnn"):
        assert host.file(f"/opt/ocrstack/models/{name}/1/saved_model.pb").is_file
        assert host.file(f"/opt/ocrstack/models/{name}/1/variables/variables.index").is_file
    config = host.file("/opt/ocrstack/tfserving/models.config").content_string
    assert "base_path: \"/models/ctpn\"" in config and "base_path: \"/models/dbnet\"" in config


def test_only_the_current_modes_containers_run_healthy(host):
    containers = _project_containers(host)
    services = {c["Labels"].split("com.docker.compose.service=")[1].split(",")[0] for c in containers}
    assert services == EXPECTED_SERVICES, containers
    for c in containers:
        assert c["State"] == "running", c
        assert "(healthy)" in c["Status"], c
        # Started from this mode's compose file: nothing of the other stack is left.
        assert f"{COMPOSE}/{MODE}.yml" in c["Labels"], c
        assert ".gpu.yml" not in c["Labels"], c  # ocr_gpu: false -> no GPU override


def test_web_published_on_every_ipv4_address(host):
    out = host.check_output("docker port ocrstack-web-1 8080")
    assert out.strip().splitlines() == [f"0.0.0.0:{PORT}"]


def test_containers_have_the_limits_sized_from_the_inventory(host):
    env = _env(host)
    # web: OCR_WORKERS 1 x 1229 MiB + 512 MiB (defaults); TF Serving: the host's override
    assert (env["OCR_WEB_MEMORY_LIMIT"], env["OCR_WEB_PIDS_LIMIT"]) == ("1741m", "1024")
    assert (env["TFSERVING_MEMORY_LIMIT"], env["TFSERVING_PIDS_LIMIT"]) == ("3072m", "1024")
    expected = {"web": 1741, "tfserving": 3072}
    for service in EXPECTED_SERVICES:
        fields = "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}"
        memory, pids = host.check_output(f"docker inspect --format '{fields}' ocrstack-{service}-1").split()
        assert (int(memory), int(pids)) == (expected[service] * 2**20, 1024), service


# --- exposure: only the allowed sources reach the published port (DOCKER-USER rules) -----------
# A network namespace on the host, wired to it by a veth pair and routed (not a Docker bridge): to
# the host it is a machine on one of its networks, whose connections to the published port are
# forwarded by Docker's DNAT past the INPUT chain. It has an allowed address and a refused one.
NETNS, HOST_SIDE, ALLOWED, REFUSED = "ocrtest-clients", "10.199.0.1", "10.199.0.2", "10.199.0.3"
RULES_SCRIPT = "/usr/local/sbin/ocrstack-docker-user"


@pytest.fixture(scope="module")
def clients(host):
    cleanup = f"ip netns del {NETNS} 2>/dev/null; ip link del ocrtest-h 2>/dev/null; true"
    host.run(cleanup)
    host.check_output(
        " && ".join(
            [
                f"ip netns add {NETNS}",
                "ip link add ocrtest-h type veth peer name ocrtest-c",
                f"ip link set ocrtest-c netns {NETNS}",
                f"ip addr add {HOST_SIDE}/24 dev ocrtest-h",
                "ip link set ocrtest-h up",
                f"ip -n {NETNS} addr add {ALLOWED}/24 dev ocrtest-c",
                f"ip -n {NETNS} addr add {REFUSED}/24 dev ocrtest-c",
                f"ip -n {NETNS} link set ocrtest-c up",
                f"ip -n {NETNS} link set lo up",
            ]
        )
    )
    yield
    host.run(cleanup)


def _get_healthz_from(host, source: str) -> str:
    """GET /healthz on the host's published port from `source`: the status line, or "timeout"."""
    script = (
        "import socket, sys\n"
        "s = socket.socket(); s.settimeout(3); s.bind((sys.argv[1], 0))\n"
        "try:\n"
        f"    s.connect(('{HOST_SIDE}', {PORT})); s.sendall(b'GET /healthz HTTP/1.0\\r\\n\\r\\n')\n"
        "    print(s.recv(64).split(b'\\r\\n')[0].decode())\n"
        "except socket.timeout:\n"
        "    print('timeout')\n"
    )
    return host.check_output(f"ip netns exec {NETNS} python3 -c {shlex.quote(script)} {source}")


def test_only_the_allowed_sources_reach_the_published_port(host, clients):
    assert _get_healthz_from(host, ALLOWED).endswith(" 200 OK")
    assert _get_healthz_from(host, REFUSED) == "timeout"
    # The host itself (its own connections are not forwarded): the smoke test's path.
    url = f"http://127.0.0.1:{PORT}/healthz"
    local = f"from urllib.request import urlopen; print(urlopen('{url}', timeout=5).status)"
    assert host.check_output(f"python3 -c {shlex.quote(local)}") == "200"


def test_without_the_rules_the_refused_source_is_served_and_the_unit_restores_them(host, clients):
    rules = host.check_output("iptables -S OCRSTACK-WEB").splitlines()
    assert rules == [
        "-N OCRSTACK-WEB", "-A OCRSTACK-WEB -s 10.199.0.2/32 -j RETURN",
        "-A OCRSTACK-WEB -s 127.0.0.1/32 -j RETURN", "-A OCRSTACK-WEB -j DROP",
    ]  # fmt: skip  (ocr_stack_allowed_sources: an address, and localhost resolved on the host)
    assert host.run(f"{RULES_SCRIPT} check").rc == 0
    try:
        host.check_output(f"{RULES_SCRIPT} remove")
        assert host.run(f"{RULES_SCRIPT} check").rc == 1
        assert _get_healthz_from(host, REFUSED).endswith(" 200 OK")  # Docker alone publishes to all
    finally:
        # What Docker's start (boot, restart) does: the unit applies them again.
        host.check_output("systemctl restart ocrstack-docker-user.service")
    assert _get_healthz_from(host, REFUSED) == "timeout"
    assert _get_healthz_from(host, ALLOWED).endswith(" 200 OK")
    unit = host.check_output("systemctl show -p PartOf,After,UnitFileState ocrstack-docker-user.service")
    assert "PartOf=docker.service" in unit and "UnitFileState=enabled" in unit
    assert "docker.service" in unit.split("After=")[1].splitlines()[0]
    assert host.file("/etc/systemd/system/docker.service.wants/ocrstack-docker-user.service").exists


def test_stack_reads_the_sample_invoice(host):
    body = host.check_output(
        f"python3 -c \"import requests,json;"
        f"r=requests.post('http://127.0.0.1:{PORT}/v1/ocr',"
        f"files={{'image':open('/opt/ocrstack/smoke-invoice.png','rb')}},timeout=60);"
        f"r.raise_for_status();print(json.dumps(r.json()))\""
    )
    lines = [line["text"] for line in json.loads(body)["lines"]]
    assert len(lines) >= 10
    assert any("发票号码" in text for text in lines), lines
    assert any("济南销售发票" in text for text in lines), lines


@pytest.mark.skipif(MODE != "tfserving", reason="tfserving mode only")
def test_web_talks_to_tf_serving(host):
    out = host.check_output(
        "docker exec ocrstack-web-1 python -c \"import os;print(os.environ['OCR_MODE'], "
        "os.environ['OCR_TFSERVING_GRPC'])\""
    )
    assert out.split() == ["tfserving", "tfserving:8500"]
