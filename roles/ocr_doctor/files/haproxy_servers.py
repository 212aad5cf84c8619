"""Print the servers of one HAProxy backend and their status, as JSON, from the runtime API.

Usage: haproxy_servers.py SOCKET BACKEND   (read-only: sends `show stat`, nothing else)

`show stat` answers CSV whose first line is the header, "# pxname,svname,...,status,..."
(HAProxy management guide, section "CSV format"); columns are found by name, so versions that
add columns still parse. Output: {"servers": {"<svname>": "<status>"}, "error": ""}.

Runs on the load balancer host's own Python (2.7 on CentOS 7, 3.x elsewhere), standard library only:
keep it 2.7-compatible (tests/ansible/test_target_python.py runs it under 2.7).
"""

import csv
import json
import socket
import sys


def main(path, backend):
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.connect(path)
        sock.sendall(b"show stat\n")
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
        sock.close()
    except (IOError, OSError) as exc:  # Python 2: socket.error is an IOError, not an OSError
        print(json.dumps({"servers": {}, "error": "{}: {}".format(path, exc)}))
        return 0
    text = b"".join(chunks)
    if sys.version_info[0] >= 3:  # Python 2's csv reads byte strings only
        text = text.decode("utf-8", "replace")
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# "):
        error = "unexpected answer to 'show stat': {!r}".format(lines[:1])
        print(json.dumps({"servers": {}, "error": error}))
        return 0
    rows = csv.DictReader([lines[0][2:]] + [line for line in lines[1:] if line.strip()])
    servers = {
        row["svname"]: row["status"]
        for row in rows
        if row.get("pxname") == backend and row.get("svname") not in ("FRONTEND", "BACKEND")
    }
    print(json.dumps({"servers": servers, "error": ""}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
