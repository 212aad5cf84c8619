"""The site after playbooks/site.yml: both OCR hosts read the sample, each in its inventory's mode,
the load balancer spreads requests over both, and host B can fail under load without a client
noticing. Phase "flip" (SITE_A_MODE=tfserving, tests/ansible/test_molecule_site.py) checks host A
after its mode changed.

Every request starts inside the site's network (the client program on the load-balancer host):
nothing is sent to any other address.
"""

import json
import os
import time
from pathlib import Path

import pytest
import testinfra

testinfra_hosts = ["ansible://site-lb"]

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
A_MODE = os.environ.get("SITE_A_MODE") or "single"
CLIENT = "python3 /opt/site-client/ocr_load.py"
SAMPLE = "/opt/site-client/invoice.png"
SERVICES = {"single": {"web"}, "tfserving": {"web", "tfserving"}}
# Host B's stack as the ocr_stack role installed it (.env beside the compose files).
B_COMPOSE = "cd /opt/ocrstack/compose && docker compose -f tfserving.yml"
HEALTHZ = (
    "python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:8080/healthz').status)\""
)


def other(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


def post(host, url, count=1, threads=1):
    out = host.check_output(
        f"{CLIENT} {url}/v1/ocr {SAMPLE} --max-requests {count} --threads {threads} --seconds 120"
    )
    return [json.loads(line) for line in out.splitlines()]


def stack_services(host):
    out = host.check_output(
        "docker ps --filter label=com.docker.compose.project=ocrstack "
        "--format '{{.Label \"com.docker.compose.service\"}} {{.Status}}'"
    )
    return {line.split()[0]: line for line in out.splitlines()}


@pytest.mark.parametrize("name, mode", [("site-a", A_MODE), ("site-b", "tfserving")])
def test_each_host_reads_the_sample_on_its_own_port_in_its_mode(host, name, mode):
    (result,) = post(host, f"http://{name}:8080")
    assert result["status"] == 200 and result["found"] and result["lines"] >= 20, result
    services = stack_services(other(name))
    assert set(services) == SERVICES[mode], services  # nothing of the other mode's stack is left
    assert all("(healthy)" in status for status in services.values()), services
    # The service runs in the mode the host's compose file sets (the one place it is read).
    assert other(name).check_output("docker exec ocrstack-web-1 printenv OCR_MODE") == mode


def test_hosts_have_no_route_to_a_package_mirror(host):
    probe = "python3 -c \"import socket; socket.create_connection(('deb.debian.org', 80), timeout=5)\""
    for name in ("site-a", "site-b", "site-lb"):
        assert other(name).run(probe).rc != 0, f"{name} reached deb.debian.org"


def test_load_balancer_spreads_requests_over_both_hosts(host):
    assert host.check_output(HEALTHZ) == "200"
    results = post(host, "http://127.0.0.1:8080", count=12, threads=2)
    assert [r["status"] for r in results] == [200] * 12, results
    assert all(r["found"] for r in results)
    assert {r["served_by"] for r in results} == {"site-a", "site-b"}


@pytest.mark.skipif(A_MODE != "single", reason="the drill runs once, before the flip")
def test_host_b_fails_under_load_and_no_client_request_fails(host):
    b = other("site-b")
    log = "/tmp/drill.jsonl"
    host.run(f"rm -f {log}")
    # a steady load through the load balancer, bounded in time and count
    host.check_output(
        f"nohup {CLIENT} http://127.0.0.1:8080/v1/ocr {SAMPLE} --threads 2 --seconds 75 --max-requests 600 "
        f"--out {log} >/dev/null 2>&1 &"
    )
    time.sleep(10)
    stopped_at = time.time()
    b.check_output(f"{B_COMPOSE} stop")
    time.sleep(20)
    started_at = time.time()
    b.check_output(f"{B_COMPOSE} start")
    deadline = time.time() + 70
    while time.time() < deadline and host.run("pgrep -f ocr_load.py").rc == 0:
        time.sleep(2)
    results = [json.loads(line) for line in host.file(log).content_string.splitlines()]

    failed = [r for r in results if r["status"] != 200 or not r.get("found")]
    after_stop = [r for r in results if r["start"] > stopped_at]
    # B's last answer after the stop began: its in-flight requests finish (graceful stop), then the
    # load balancer's checks take it out
    b_while_down = [
        r["end"] for r in after_stop if r.get("served_by") == "site-b" and r["start"] < started_at
    ]
    back = [r["end"] for r in results if r.get("served_by") == "site-b" and r["start"] > started_at]
    figures = {
        "requests": len(results),
        "failed": len(failed),
        "requests_while_b_down": len([r for r in after_stop if r["start"] < started_at]),
        "b_last_answer_after_stop_s": round(max(b_while_down) - stopped_at, 1) if b_while_down else 0.0,
        "b_back_in_pool_after_start_s": round(min(back) - started_at, 1) if back else None,
        "slowest_request_s": round(max(r["end"] - r["start"] for r in results), 1),
    }
    (EPHEMERAL / "drill.json").write_text(json.dumps(figures))
    print("failure drill:", figures)
    lb_log = host.run("docker logs --tail 60 ocrstack-lb 2>&1").stdout
    assert failed == [], f"{failed[:5]}\nload balancer log:\n{lb_log}"
    assert figures["requests_while_b_down"] > 0
    assert not any(
        r.get("served_by") == "site-b" for r in after_stop if stopped_at + 5 < r["start"] < started_at
    )
    assert back, "site-b did not come back into the pool within the load's time"
