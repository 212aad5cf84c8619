"""Stand-in for HAProxy's runtime API on a unix socket: answers `show stat` with the CSV layout
of HAProxy's management guide (section 9.1: a "# pxname,svname,..." header, one line per
frontend, server and backend, `status` the 18th field); the servers' status comes from
/etc/ocr-doctor-fakes/lb-status.json ({"server": "UP"}). Other commands get "Unknown command".
Usage: fake_haproxy_runtime_api.py SOCKET
"""

import json
import os
import socket
import sys

# The first 39 fields, in the guide's order (a real HAProxy prints more after them).
FIELDS = [
    "pxname",
    "svname",
    "qcur",
    "qmax",
    "scur",
    "smax",
    "slim",
    "stot",
    "bin",
    "bout",
    "dreq",
    "dresp",
    "ereq",
    "econ",
    "eresp",
    "wretr",
    "wredis",
    "status",
    "weight",
    "act",
    "bck",
    "chkfail",
    "chkdown",
    "lastchg",
    "downtime",
    "qlimit",
    "pid",
    "iid",
    "sid",
    "throttle",
    "lbtot",
    "tracked",
    "type",
    "rate",
    "rate_lim",
    "rate_max",
    "check_status",
    "check_code",
    "check_duration",
]


def row(values: dict) -> str:
    return ",".join(str(values.get(f, "")) for f in FIELDS) + ","


def show_stat() -> str:
    with open("/etc/ocr-doctor-fakes/lb-status.json") as f:
        servers = json.load(f)
    lines = ["# " + ",".join(FIELDS) + ","]
    lines.append(row({"pxname": "ocr_front", "svname": "FRONTEND", "status": "OPEN", "type": 0}))
    for sid, (name, status) in enumerate(servers.items(), start=1):
        lines.append(
            row(
                {
                    "pxname": "ocr_hosts",
                    "svname": name,
                    "status": status,
                    "weight": 1,
                    "act": 1,
                    "type": 2,
                    "sid": sid,
                    "check_status": "L7OK",
                    "check_code": 200,
                }
            )
        )
    up = sum(1 for s in servers.values() if s == "UP")
    backend = {
        "pxname": "ocr_hosts",
        "svname": "BACKEND",
        "status": "UP" if up else "DOWN",
        "act": up,
        "type": 1,
    }
    lines.append(row(backend))
    return "\n".join(lines) + "\n\n"


def main(path: str) -> None:
    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o600)
    server.listen(8)
    while True:
        conn, _ = server.accept()
        with conn:
            command = conn.recv(4096).decode().strip()
            answer = show_stat() if command == "show stat" else "Unknown command.\n\n"
            conn.sendall(answer.encode())


if __name__ == "__main__":
    main(sys.argv[1])
