"""State and behaviour the ocr_lb role must leave on the load-balancer host (Docker-in-Docker).

Requests are sent from inside the host (python3's urllib) to HAProxy on 127.0.0.1:18080; the two
backends are the fake OCR hosts of prepare.yml on 18081 and 18082.
"""

import json
import shlex
import time

testinfra_hosts = ["ansible://molecule-ocr-lb"]

LB = "http://127.0.0.1:18080"
CLIENT = """
import json, sys, urllib.request, urllib.error
method, url, size, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
out = []
for _ in range(count):
    req = urllib.request.Request(url, data=b"x" * size if method == "POST" else None, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            out.append([r.status, r.read().decode()])
    except urllib.error.HTTPError as e:
        out.append([e.code, e.read().decode()])
    except OSError as e:
        out.append([0, str(e)])
print(json.dumps(out))
"""


def requests_(host, method, path, count=1, size=1000):
    """[(status, body), ...] of `count` requests made one after another from the host."""
    command = f"python3 -c {shlex.quote(CLIENT)} {method} {LB}{path} {size} {count}"
    return [tuple(pair) for pair in json.loads(host.check_output(command))]


def backends_of(results):
    return {json.loads(body)["backend"] for status, body in results if status == 200}


def wait_for(predicate, timeout_s=15):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def set_down(host, port, down):
    host.check_output("mkdir -p /run/fake-ocr")
    host.check_output(f"{'touch' if down else 'rm -f'} /run/fake-ocr/{port}.down")


def test_configuration_lists_every_host_of_the_group_with_readyz_checks(host):
    cfg = host.file("/etc/ocrstack-lb/haproxy.cfg")
    assert cfg.mode == 0o644
    text = cfg.content_string
    assert "server backend-a 127.0.0.1:18081" in text
    assert "server backend-b 127.0.0.1:18082" in text
    assert "http-check send meth GET uri /readyz" in text
    assert "bind 0.0.0.0:18080" in text


def test_container_runs_as_non_root_and_becomes_healthy(host):
    def health():
        return host.check_output("docker inspect -f '{{.State.Health.Status}}' ocrstack-lb")

    assert wait_for(lambda: health() == "healthy", timeout_s=30), health()
    assert host.check_output("docker exec ocrstack-lb id -un") == "haproxy"
    policy = host.check_output("docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' ocrstack-lb")
    assert policy == "unless-stopped"


def test_requests_are_spread_over_both_backends(host):
    assert requests_(host, "GET", "/healthz")[0][0] == 200
    results = requests_(host, "POST", "/v1/ocr", count=20)
    assert {status for status, _ in results} == {200}
    assert backends_of(results) == {18081, 18082}


def test_a_backend_that_is_not_ready_leaves_the_pool_and_comes_back(host):
    set_down(host, 18081, True)
    try:
        assert wait_for(lambda: backends_of(requests_(host, "POST", "/v1/ocr", count=6)) == {18082})
        results = requests_(host, "POST", "/v1/ocr", count=20)
        assert [status for status, _ in results] == [200] * 20
        assert backends_of(results) == {18082}
    finally:
        set_down(host, 18081, False)
    assert wait_for(lambda: backends_of(requests_(host, "POST", "/v1/ocr", count=10)) == {18081, 18082})


def test_a_backend_that_dies_costs_no_request(host):
    host.check_output("systemctl stop fake-ocr@18082")
    try:
        # before any health check has noticed: refused connections are retried on the other host
        results = requests_(host, "POST", "/v1/ocr", count=20)
        assert [status for status, _ in results] == [200] * 20
        assert backends_of(results) == {18081}
    finally:
        host.check_output("systemctl start fake-ocr@18082")
    assert wait_for(lambda: backends_of(requests_(host, "POST", "/v1/ocr", count=10)) == {18081, 18082})


def test_a_backend_that_closes_a_connection_mid_request_costs_no_request(host):
    # A host whose service stops while a page is still arriving: the load balancer must hold the
    # whole page to send it again to the other host (a 502 to the client before the fix).
    host.check_output("mkdir -p /run/fake-ocr && rm -f /run/fake-ocr/18082.dropped")
    host.check_output("touch /run/fake-ocr/18082.drop")
    try:
        results = []
        for _ in range(8):  # one at a time, so the dropping host is picked again whenever it is back
            results += requests_(host, "POST", "/v1/ocr", size=700_000)
            time.sleep(0.6)
    finally:
        host.check_output("rm -f /run/fake-ocr/18082.drop")
    dropped = host.file("/run/fake-ocr/18082.dropped")
    assert dropped.exists and len(dropped.content_string.splitlines()) >= 1, "no request reached 18082"
    assert [status for status, _ in results] == [200] * 8, results
    assert backends_of(results) == {18081}
    assert wait_for(lambda: backends_of(requests_(host, "POST", "/v1/ocr", count=10)) == {18081, 18082})


def test_healthz_fails_when_no_backend_is_ready(host):
    set_down(host, 18081, True)
    set_down(host, 18082, True)
    try:
        assert wait_for(lambda: requests_(host, "GET", "/healthz")[0][0] == 503)
        status, _ = requests_(host, "POST", "/v1/ocr")[0]
        assert status == 503
    finally:
        set_down(host, 18081, False)
        set_down(host, 18082, False)
    assert wait_for(lambda: requests_(host, "GET", "/healthz")[0][0] == 200)


def test_requests_above_the_service_limit_are_refused_by_the_load_balancer(host):
    # HAProxy decides on the declared length, before reading the body: send the headers only.
    raw = (
        "import socket; s = socket.create_connection(('127.0.0.1', 18080), timeout=10); "
        "s.sendall(b'POST /v1/ocr HTTP/1.1\\r\\nHost: lb\\r\\nContent-Length: 14046550\\r\\n\\r\\n'); "
        "print(s.recv(200).split(b'\\r\\n')[0].decode())"
    )
    assert host.check_output(f"python3 -c {shlex.quote(raw)}") == "HTTP/1.1 413 Payload Too Large"
    assert requests_(host, "POST", "/v1/ocr", size=900_000)[0][0] == 200  # a big page still passes
