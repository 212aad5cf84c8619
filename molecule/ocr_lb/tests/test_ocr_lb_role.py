"""State and behaviour the ocr_lb role must leave on the load-balancer host (Docker-in-Docker).

Requests are sent from inside the host (python3's urllib) to the two load balancers of converge.yml:
ocrstack-lb (https://127.0.0.1:18443 with TLS, API keys and rate limits; http 18080 redirects) and
ocrstack-lb-plain (http://127.0.0.1:18090, the role's defaults, server timeout 2 s). Behind both are
the fake OCR hosts of prepare.yml on 18081 and 18082 (files/fake_ocr_backend.py): they count the
requests that reach them, remember the most they held at once, and can be told to be busy (503),
slow, not ready, or to drop a connection mid-body.
"""

import json
import os
import shlex
import subprocess
import time
from pathlib import Path

testinfra_hosts = ["ansible://molecule-ocr-lb"]

SCENARIO = Path(__file__).resolve().parents[1]
REPO = SCENARIO.parents[1]
LB = "https://127.0.0.1:18443"
PLAIN = "http://127.0.0.1:18090"
KEY = "tests-key-0123456789abcdef"
LIMITED_KEY = "limited-key-0123456789abcdef"
CA = "/usr/local/share/ocr-lb-test.crt"
SOCKET = "/var/lib/ocrstack-lb/admin.sock"
SECURITY_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY"}

# One JSON argument: url, method, size, count, threads, headers, timeout. Prints, per request,
# [status, body, headers (lower-case names)]; redirects are not followed; bounded by count and timeout.
CLIENT = r"""
import json, ssl, sys, threading, urllib.request, urllib.error
a = json.loads(sys.argv[1])
ctx = ssl.create_default_context(cafile=a["ca"])
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=ctx))
out, lock = [], threading.Lock()
def one():
    data = b"x" * a["size"] if a["method"] == "POST" else None
    req = urllib.request.Request(a["url"], data=data, method=a["method"], headers=a["headers"])
    try:
        with opener.open(req, timeout=a["timeout"]) as r:
            res = [r.status, r.read().decode(), dict((k.lower(), v) for k, v in r.headers.items())]
    except urllib.error.HTTPError as e:
        res = [e.code, e.read().decode(), dict((k.lower(), v) for k, v in e.headers.items())]
    except OSError as e:
        res = [0, str(e), {}]
    with lock:
        out.append(res)
def worker(n):
    for _ in range(n):
        one()
per = [a["count"] // a["threads"] + (1 if i < a["count"] % a["threads"] else 0) for i in range(a["threads"])]
ts = [threading.Thread(target=worker, args=(n,)) for n in per]
[t.start() for t in ts]
[t.join() for t in ts]
print(json.dumps(out))
"""


def call(
    host, path, method="POST", count=1, size=1000, threads=1, key=KEY, headers=None, base=LB, timeout=15
):
    """[(status, body, headers), ...] of `count` requests from the host (over `threads` threads)."""
    hdrs = dict(headers or {})
    if key:
        hdrs["X-API-Key"] = key
    spec = {
        "url": base + path, "method": method, "size": size, "count": count, "threads": threads,
        "headers": hdrs, "timeout": timeout, "ca": CA,
    }
    command = f"python3 -c {shlex.quote(CLIENT)} {shlex.quote(json.dumps(spec))}"
    return [tuple(r) for r in json.loads(host.check_output(command))]


def requests_(host, method, path, count=1, size=1000, **kwargs):
    return call(host, path, method=method, count=count, size=size, **kwargs)


def backends_of(results):
    return {json.loads(body)["backend"] for status, body, _ in results if status == 200}


def statuses(results):
    return [r[0] for r in results]


def wait_for(predicate, timeout_s=15):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def fake(host, port, mode, on):
    host.check_output("mkdir -p /run/fake-ocr")
    host.check_output(f"{'touch' if on else 'rm -f'} /run/fake-ocr/{port}.{mode}")


def set_down(host, port, down):
    fake(host, port, "down", down)


def hit_times(host, port):
    """When each POST /v1/ocr reached the backend (time.time() on the host)."""
    f = host.file(f"/run/fake-ocr/{port}.hits")
    return [float(line) for line in f.content_string.splitlines()] if f.exists else []


def hits(host, port):
    return len(hit_times(host, port))


def reset_counters(host):
    host.check_output("rm -f /run/fake-ocr/*.hits /run/fake-ocr/*.peak")


def runtime(host, command):
    """A command on HAProxy's runtime API socket, as root on the host (what the deploy play uses)."""
    script = (
        "import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
        "s.sendall(sys.argv[2].encode() + b'\\n'); d = b''\n"
        "while True:\n c = s.recv(65536)\n if not c: break\n d += c\n"
        "print(d.decode())"
    )
    return host.check_output(f"python3 -c {shlex.quote(script)} {SOCKET} {shlex.quote(command)}")


def server_stat(host, server):
    lines = runtime(host, "show stat").lstrip("# ").splitlines()
    head = lines[0].split(",")
    for line in lines[1:]:
        row = dict(zip(head, line.split(","), strict=False))
        if row.get("pxname") == "ocr_hosts" and row.get("svname") == server:
            return row
    raise AssertionError(f"no server {server} in show stat")


def failed_connections(stat):
    """Connection errors, retries and redispatches HAProxy counted for a server."""
    return sum(int(stat[k] or 0) for k in ("econ", "wretr", "wredis"))


def pool_is_whole(host):
    return wait_for(lambda: backends_of(requests_(host, "POST", "/v1/ocr", count=10)) == {18081, 18082})


# --- configuration and container -------------------------------------------------------------


def test_configuration_lists_every_host_of_the_group_with_readyz_checks_and_maxconn(host):
    cfg = host.file("/etc/ocrstack-lb/haproxy.cfg")
    assert cfg.mode == 0o644
    text = cfg.content_string
    # maxconn: 1 worker x 2 threads per host (tasks/pool.yml)
    assert "server backend-a 127.0.0.1:18081 maxconn 2" in text
    assert "server backend-b 127.0.0.1:18082 maxconn 2" in text
    assert "http-check send meth GET uri /readyz" in text
    assert "bind 0.0.0.0:18080" in text


def test_secrets_and_the_runtime_api_are_for_root_and_haproxy_only(host):
    uid = host.check_output("docker exec ocrstack-lb id -u")
    for path, mode in [
        ("/etc/ocrstack-lb/tls/lb.pem", 0o640),
        ("/etc/ocrstack-lb/api_keys.map", 0o640),
        ("/var/lib/ocrstack-lb", 0o700),
    ]:
        f = host.file(path)
        assert f.exists, path
        assert f.mode == mode, f"{path}: {oct(f.mode)}"
    assert host.file("/var/lib/ocrstack-lb").uid == int(uid)
    assert host.file(SOCKET).is_socket
    # the plain load balancer (keys and TLS off) keeps none of them
    assert not host.file("/etc/ocrstack-lb-plain/api_keys.map").exists
    assert not host.file("/etc/ocrstack-lb-plain/tls").exists


def test_container_runs_as_non_root_and_becomes_healthy(host):
    def health():
        return host.check_output("docker inspect -f '{{.State.Health.Status}}' ocrstack-lb")

    assert wait_for(lambda: health() == "healthy", timeout_s=30), health()
    assert host.check_output("docker exec ocrstack-lb id -un") == "haproxy"
    policy = host.check_output("docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' ocrstack-lb")
    assert policy == "unless-stopped"


# --- the pool ----------------------------------------------------------------------------------


def test_requests_are_spread_over_both_backends(host):
    status, body, headers = requests_(host, "GET", "/healthz", key=None)[0]
    assert (status, json.loads(body), headers["content-type"]) == (200, {"status": "ok"}, "application/json")
    results = requests_(host, "POST", "/v1/ocr", count=20)
    assert set(statuses(results)) == {200}
    assert backends_of(results) == {18081, 18082}


def test_a_backend_that_is_not_ready_leaves_the_pool_and_comes_back(host):
    set_down(host, 18081, True)
    try:
        assert wait_for(lambda: backends_of(requests_(host, "POST", "/v1/ocr", count=6)) == {18082})
        results = requests_(host, "POST", "/v1/ocr", count=20)
        assert statuses(results) == [200] * 20
        assert backends_of(results) == {18082}
    finally:
        set_down(host, 18081, False)
    assert pool_is_whole(host)


def test_a_backend_that_dies_costs_no_request(host):
    host.check_output("systemctl stop fake-ocr@18082")
    try:
        # before any health check has noticed: refused connections are retried on the other host
        results = requests_(host, "POST", "/v1/ocr", count=20)
        assert statuses(results) == [200] * 20
        assert backends_of(results) == {18081}
    finally:
        host.check_output("systemctl start fake-ocr@18082")
    assert pool_is_whole(host)


# Stops backend-b, then (in well under the 2 s its health checks need to notice) sends requests one
# at a time until one was sent to it and retried, and prints backend-b's status and the statuses.
ONE_FAILED_CONNECTION = r"""
import csv, io, json, socket, ssl, subprocess, sys, urllib.request
sock, url, key, ca = sys.argv[1:5]
def stat():
    s = socket.socket(socket.AF_UNIX); s.connect(sock); s.sendall(b"show stat\n"); d = b""
    while True:
        c = s.recv(65536)
        if not c: break
        d += c
    rows = csv.DictReader(io.StringIO(d.decode().lstrip("# ")))
    return next(r for r in rows if r["pxname"] == "ocr_hosts" and r["svname"] == "backend-b")
def failed(r):
    return sum(int(r[k] or 0) for k in ("econ", "wretr", "wredis"))
ctx = ssl.create_default_context(cafile=ca)
subprocess.run(["systemctl", "stop", "fake-ocr@18082"], check=True)
codes = []
for _ in range(4):
    before = failed(stat())
    req = urllib.request.Request(url, data=b"x" * 100, headers={"X-API-Key": key})
    with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
        codes.append(r.status)
    after = stat()
    if failed(after) > before:
        print(json.dumps({"status": after["status"], "codes": codes}))
        break
else:
    print(json.dumps({"status": None, "codes": codes}))
"""


def test_one_failed_connection_does_not_take_a_host_out(host):
    # error-limit 3: one refused (or slow) connection is retried elsewhere, and the host stays in
    # the pool; only the health checks or failures in a row take it out.
    assert pool_is_whole(host)
    try:
        args = " ".join(shlex.quote(a) for a in (SOCKET, LB + "/v1/ocr", KEY, CA))
        seen = json.loads(host.check_output(f"python3 -c {shlex.quote(ONE_FAILED_CONNECTION)} {args}"))
    finally:
        host.check_output("systemctl start fake-ocr@18082")
    assert seen["status"] is not None, f"no request was sent to the stopped backend: {seen}"
    assert set(seen["codes"]) == {200}
    assert seen["status"].startswith("UP"), seen  # mark-down after 1 error would say DOWN
    assert pool_is_whole(host)


def test_a_connection_failure_is_retried_once_and_the_503_shows_no_address(host):
    assert pool_is_whole(host)
    host.check_output("systemctl stop fake-ocr@18081 fake-ocr@18082")
    try:
        status, body, headers = requests_(host, "POST", "/v1/ocr")[0]
        log = host.check_output("docker logs --tail 40 ocrstack-lb 2>&1")
    finally:
        host.check_output("systemctl start fake-ocr@18081 fake-ocr@18082")
    assert status == 503, body
    assert json.loads(body)["error"]["code"] == "unavailable"
    assert "127.0.0.1" not in body and "18081" not in body and "backend-" not in body
    assert "x-served-by" not in headers
    # httplog: actconn/feconn/beconn/srv_conn/retries ("+" when redispatched): one retry, no more
    line = [x for x in log.splitlines() if '"POST /v1/ocr' in x and " 503 " in x][-1]
    retries = line.split('"')[0].split()[-2].split("/")[-1]
    assert retries.lstrip("+") == "1", line
    assert pool_is_whole(host)


def test_a_backend_that_closes_a_connection_mid_request_costs_no_request(host):
    # A host whose service stops while a page is still arriving: the load balancer must hold the
    # whole page to send it again to the other host (a 502 to the client before the fix).
    host.check_output("mkdir -p /run/fake-ocr && rm -f /run/fake-ocr/18082.dropped")
    fake(host, 18082, "drop", True)
    try:
        results = []
        for _ in range(8):  # one at a time, so the dropping host is picked again whenever it is back
            results += requests_(host, "POST", "/v1/ocr", size=700_000)
            time.sleep(0.6)
    finally:
        fake(host, 18082, "drop", False)
    dropped = host.file("/run/fake-ocr/18082.dropped")
    assert dropped.exists and len(dropped.content_string.splitlines()) >= 1, "no request reached 18082"
    assert statuses(results) == [200] * 8, results
    assert backends_of(results) == {18081}
    assert pool_is_whole(host)


def test_a_busy_backend_s_503_is_not_retried(host):
    # A 503 is a host shedding load: the client gets it; the request is not sent to another host.
    assert pool_is_whole(host)
    reset_counters(host)
    fake(host, 18082, "busy", True)
    try:
        results = requests_(host, "POST", "/v1/ocr", count=10)
    finally:
        fake(host, 18082, "busy", False)
    busy = [r for r in results if r[0] == 503]
    assert busy, "no request reached the busy host"
    assert all(json.loads(body)["error"]["code"] == "busy" for _, body, _ in busy)
    assert set(statuses(results)) == {200, 503}
    assert hits(host, 18082) == len(busy)
    assert hits(host, 18081) == 10 - len(busy)  # each request reached one host, once


def test_a_response_timeout_is_not_retried(host):
    # The plain load balancer waits 2 s for an answer: a page that takes 3 s gets 504, and it is not
    # sent to the other host (the first copy is still running there).
    reset_counters(host)
    status, body, _ = call(host, "/v1/ocr", base=PLAIN, key=None, headers={"X-Fake-Sleep": "3"})[0]
    assert status == 504
    assert json.loads(body)["error"]["code"] == "gateway_timeout"
    assert hits(host, 18081) + hits(host, 18082) == 1
    # the backend still holds the abandoned copy until its 3 s are up: let it finish, so the next
    # test's concurrency peak counts only its own requests. Counted from when the copy reached the
    # backend (its line in .hits, the host's clock, which the container shares), not from when the
    # client started: on a loaded machine the client's start alone can take a second.
    arrived = max(hit_times(host, 18081) + hit_times(host, 18082))
    time.sleep(max(0.0, arrived + 3.5 - time.time()))


def test_a_host_gets_at_most_workers_times_threads_requests_and_the_rest_queue(host):
    reset_counters(host)
    start = time.monotonic()
    results = call(host, "/v1/ocr", count=8, threads=8, headers={"X-Fake-Sleep": "1.5"})
    took = time.monotonic() - start
    assert statuses(results) == [200] * 8
    peaks = [int(host.file(f"/run/fake-ocr/{p}.peak").content_string) for p in (18081, 18082)]
    assert peaks == [2, 2], peaks  # 1 worker x 2 threads each; without maxconn all 8 at once
    assert took >= 3.0  # two rounds: 4 at a time


# --- exposure ------------------------------------------------------------------------------------


def test_only_the_api_paths_are_served(host):
    for path in ("/metrics", "/readyz", "/admin", "/v1/ocr/../metrics"):
        status, body, headers = call(host, path, method="GET")[0]
        assert status == 404, path
        assert json.loads(body)["error"]["code"] == "not_found"
        assert "backend" not in body and "10.1.2.3" not in body
    # also without TLS and keys: the allow-list is always on
    assert call(host, "/metrics", method="GET", base=PLAIN, key=None)[0][0] == 404
    assert call(host, "/readyz", method="GET", base=PLAIN, key=None)[0][0] == 404
    assert call(host, "/v1/ocr", base=PLAIN, key=None)[0][0] == 200


def test_answers_carry_security_headers_and_no_version_banner(host):
    ok = call(host, "/v1/ocr")[0]
    denied = call(host, "/v1/ocr", key=None)[0]
    missing = call(host, "/metrics", method="GET")[0]
    for status, _, headers in (ok, denied, missing):
        assert "server" not in headers, headers  # the fake host sends "BaseHTTP/0.6 Python/3..."
        for name, value in SECURITY_HEADERS.items():
            assert headers.get(name) == value, (status, headers)
        assert headers.get("strict-transport-security") == "max-age=600"
    for _status, _, headers in (denied, missing):  # the load balancer's own answers
        assert headers.get("content-security-policy") == "default-src 'none'; frame-ancestors 'none'"
        assert headers.get("cache-control") == "no-store"
        assert headers.get("content-type") == "application/json"
    assert "content-security-policy" not in ok[2]  # a host's answer keeps its own policy


# --- TLS, API keys, rate limits --------------------------------------------------------------------


def test_plain_http_redirects_to_https_with_method_and_body_kept(host):
    status, _, headers = call(host, "/v1/ocr", base="http://127.0.0.1:18080")[0]
    assert status == 308
    assert headers["location"] == "https://127.0.0.1:18443/v1/ocr"
    assert call(host, "/healthz", method="GET", base="http://127.0.0.1:18080", key=None)[0][0] == 200


def test_tls_certificate_is_the_inventory_s(host):
    script = (
        f"import socket, ssl; c = ssl.create_default_context(cafile='{CA}'); "
        "s = c.wrap_socket(socket.create_connection(('127.0.0.1', 18443), timeout=5), "
        "server_hostname='localhost'); "
        "print(s.version(), dict(x[0] for x in s.getpeercert()['subject'])['commonName'])"
    )
    version, cn = host.check_output(f"python3 -c {shlex.quote(script)}").split()
    assert version in ("TLSv1.2", "TLSv1.3") and cn == "localhost"


def test_requests_without_a_valid_api_key_get_401_and_never_reach_a_host(host):
    reset_counters(host)
    cases = [(None, {}), ("wrong-key-0123456789abcdef", {}), (None, {"Authorization": "Basic eDp5"})]
    for key, headers in cases:
        status, body, hdrs = call(host, "/v1/ocr", key=key, headers=headers)[0]
        assert status == 401
        assert json.loads(body)["error"]["code"] == "unauthorized"
        assert hdrs.get("www-authenticate") == "Bearer"
    assert hits(host, 18081) + hits(host, 18082) == 0


def test_both_key_headers_work_and_the_key_does_not_reach_the_host(host):
    by_bearer = call(host, "/v1/ocr", key=None, headers={"Authorization": f"Bearer {KEY}"})[0]
    by_header = call(host, "/v1/ocr")[0]
    for status, body, _ in (by_bearer, by_header):
        assert status == 200
        seen = json.loads(body)["headers"]
        assert "x-api-key" not in seen and "authorization" not in seen
        assert seen["x-ocr-client"] == "tests"
        assert seen["x-forwarded-proto"] == "https"


def test_a_client_over_its_rate_limit_gets_429_and_others_do_not(host):
    # "limited" may send 5 requests in 10 s; "tests" (the default, 300) is not affected by it.
    results = call(host, "/v1/ocr", count=8, key=LIMITED_KEY)
    assert statuses(results) == [200] * 5 + [429] * 3
    _, body, headers = results[-1]
    assert json.loads(body)["error"]["code"] == "rate_limited"
    assert headers.get("retry-after") == "10"
    assert statuses(call(host, "/v1/ocr", count=3)) == [200] * 3


# --- rolling deploys: drain and enable through the runtime API ------------------------------------


def play(step, server):
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(REPO / "roles"))
    command = [
        "ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(SCENARIO / "drain_enable.yml"),
        "-e", f"ocr_lb_step={step}", "-e", f"ocr_lb_server={server}",
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_drain_waits_for_requests_in_flight_and_enable_brings_the_host_back(host):
    assert pool_is_whole(host)
    reset_counters(host)
    # two pages held by the hosts until the test lets them go: leastconn gives one to each host, so
    # backend-b holds one
    slow = "/tmp/slow.json"
    host.check_output(f"rm -f {slow}; touch /run/fake-ocr/hold-drain")
    spec = {"url": LB + "/v1/ocr", "method": "POST", "size": 1000, "count": 2, "threads": 2,
            "headers": {"X-API-Key": KEY, "X-Fake-Hold": "drain"}, "timeout": 90, "ca": CA}
    client = f"python3 -c {shlex.quote(CLIENT)} {shlex.quote(json.dumps(spec))}"
    inner = f"{client} > {slow}.tmp && mv {slow}.tmp {slow}"
    try:
        host.check_output(f"nohup sh -c {shlex.quote(inner)} >/dev/null 2>&1 &")
        # the client starts on the host and opens two TLS connections: on a loaded machine that can
        # take seconds, so wait for both pages to arrive somewhere, then check where they went
        arrived = wait_for(lambda: hits(host, 18081) + hits(host, 18082) == 2, timeout_s=60)
        where = {port: hits(host, port) for port in (18081, 18082)}
        assert arrived and where == {18081: 1, 18082: 1}, (where, server_stat(host, "backend-b"))
        drain = play("drain", "backend-b")
        # backend-b is draining with its page still in flight; new requests go to backend-a only
        assert wait_for(
            lambda: (lambda s: s["status"] == "DRAIN" and s["scur"] == "1")(server_stat(host, "backend-b")),
            timeout_s=45,
        ), server_stat(host, "backend-b")
        during = requests_(host, "POST", "/v1/ocr", count=6)
        time.sleep(2)
        assert drain.poll() is None, "drain returned while backend-b still held a request"
    finally:
        host.check_output("rm -f /run/fake-ocr/hold-drain")
    out, _ = drain.communicate(timeout=60)
    assert drain.returncode == 0, out
    assert backends_of(during) == {18081} and statuses(during) == [200] * 6
    # the page backend-b held was answered, not cut
    assert wait_for(lambda: host.file(slow).exists, timeout_s=10)
    assert sorted(statuses(json.loads(host.file(slow).content_string))) == [200, 200]
    stat = server_stat(host, "backend-b")
    assert stat["status"] == "DRAIN" and stat["scur"] == "0"

    enable = play("enable", "backend-b")
    out, _ = enable.communicate(timeout=60)
    assert enable.returncode == 0, out
    assert server_stat(host, "backend-b")["status"] == "UP"
    assert backends_of(requests_(host, "POST", "/v1/ocr", count=6)) == {18081, 18082}


# --- last: these take every host out for a while ---------------------------------------------------


def test_healthz_fails_when_no_backend_is_ready(host):
    set_down(host, 18081, True)
    set_down(host, 18082, True)
    try:
        assert wait_for(lambda: requests_(host, "GET", "/healthz")[0][0] == 503)
        status, body, _ = requests_(host, "POST", "/v1/ocr")[0]
        assert status == 503
        assert json.loads(body)["error"]["code"] == "unavailable"
    finally:
        set_down(host, 18081, False)
        set_down(host, 18082, False)
    assert wait_for(lambda: requests_(host, "GET", "/healthz")[0][0] == 200)


def test_requests_above_the_service_limit_are_refused_by_the_load_balancer(host):
    # HAProxy decides on the declared length, before reading the body: send the headers only.
    raw = (
        f"import socket, ssl; c = ssl.create_default_context(cafile='{CA}'); "
        "s = c.wrap_socket(socket.create_connection(('127.0.0.1', 18443), timeout=10), "
        "server_hostname='localhost'); "
        f"s.sendall(b'POST /v1/ocr HTTP/1.1\\r\\nHost: lb\\r\\nX-API-Key: {KEY}\\r\\n"
        "Content-Length: 14046550\\r\\n\\r\\n'); "
        "import time; time.sleep(0.5); print(s.recv(2000).decode())"
    )
    answer = host.check_output(f"python3 -c {shlex.quote(raw)}")
    assert answer.startswith("HTTP/1.1 413 "), answer
    assert json.loads(answer.split("\r\n\r\n", 1)[1])["error"]["code"] == "payload_too_large"
    assert requests_(host, "POST", "/v1/ocr", size=900_000)[0][0] == 200  # a big page still passes
