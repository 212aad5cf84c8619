"""playbooks/doctor.yml on the hosts prepare.yml set up (doctor-a; doctor-b is the same container
seen as a second OCR host): healthy under --check (exit 0, nothing red, nothing on the host
changed), then every finding provoked on the host and reported with its fix, exit non-zero.

Each run of the doctor is a real ansible-playbook run against Molecule's inventory.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
FAKES = "/etc/ocr-doctor-fakes"
testinfra_hosts = ["doctor-a"]


def doctor(*args: str) -> subprocess.CompletedProcess:
    inventory = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory"
    env = dict(
        os.environ,
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        ANSIBLE_ROLES_PATH=str(REPO / "roles"),
        ANSIBLE_CALLBACK_RESULT_FORMAT="json",  # one finding a line, never folded
        ANSIBLE_PIPELINING="true",
        ANSIBLE_FORCE_COLOR="0",
        NO_COLOR="1",
    )
    env.pop("ANSIBLE_CONFIG", None)
    start = time.monotonic()
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), "playbooks/doctor.yml", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    print(f"doctor {' '.join(args)}: rc={result.returncode} in {time.monotonic() - start:.0f} s")
    return result


def findings(result: subprocess.CompletedProcess) -> list[str]:
    """The finding lines: "host | STATUS | check | finding | fix: ..."."""
    return re.findall(r'"((?:doctor-a|doctor-b) \| (?:RED|YELLOW) \| [^"]*)"', result.stdout)


def snapshot(host) -> str:
    """Everything the doctor could touch: files (path, size, mtime), containers, services."""
    files = host.check_output(
        "find /etc /usr/local /srv /opt /boot /var/lib/ocrstack-lb /var/log -xdev "
        "-printf '%p %s %T@\\n' 2>/dev/null | sort | sha256sum"
    )
    containers = host.check_output("docker ps -a --format '{{.Names}} {{.ID}} {{.Image}} {{.State}}' | sort")
    return files + "\n" + containers


def wait_for(host, command: str, expect: str, timeout_s: int = 120, exact: bool = False) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        out = host.run(command).stdout
        if (out.strip() == expect) if exact else (expect in out):
            return
        time.sleep(2)
    pytest.fail(f"'{command}' never showed '{expect}' within {timeout_s} s")


@pytest.fixture(scope="module")
def healthy_check_run(host):
    before = snapshot(host)
    result = doctor("--check")
    return result, before, snapshot(host)


def test_healthy_hosts_pass_under_check_with_nothing_to_report(healthy_check_run):
    result, _, _ = healthy_check_run
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert findings(result) == []
    assert "no findings: every check is green on every host" in result.stdout
    assert "nothing is red on 2 host(s)" in result.stdout


def test_summary_table_has_every_host_and_check(healthy_check_run):
    result, _, _ = healthy_check_run
    header = re.search(
        r'"(host\s+reach\s+driver\s+kmod\s+nouveau\s+secureboot\s+gpu\s+runtime\s+ctr_gpu\s+'
        r'gpu_mem\s+disk\s+stack\s+lb_pool\s+clock\s+revision\s*)"',
        result.stdout,
    )
    assert header, result.stdout[-4000:]
    for name in ("doctor-a", "doctor-b"):
        row = re.search(rf'"({name}(?:\s+\S+){{14}})\s*"', result.stdout)
        assert row, f"no table row for {name}"
        assert row.group(1).split()[1:] == ["green"] * 14, row.group(1)


def test_check_mode_changes_nothing(healthy_check_run):
    result, before, after = healthy_check_run
    assert before == after
    assert re.search(r"doctor-a\s+: ok=\d+\s+changed=0", result.stdout)
    assert re.search(r"doctor-b\s+: ok=\d+\s+changed=0", result.stdout)


@pytest.fixture(scope="module")
def broken_run(host, healthy_check_run):
    """Every finding that can be provoked at once; the module-version and GPU-memory ones, which
    need nvidia-smi to answer, come in second_broken_run."""
    # Docker without the nvidia runtime: a restart (a reload keeps the runtimes it had); the
    # stand-in containers come back by their restart policy.
    host.run_test("""echo '{"storage-driver": "overlay2"}' > /etc/docker/daemon.json""")
    host.run_test("systemctl restart docker")
    wait_for(host, "docker info --format '{{json .Runtimes}}'", "runc")
    assert "nvidia" not in host.check_output("docker info --format '{{json .Runtimes}}'")
    steps = [
        f"echo mismatch > {FAKES}/nvidia-smi",  # module 580.173.02 loaded, library 580.178
        f"echo lost > {FAKES}/ctr-ocrstack-web-1/nvidia-smi",  # doctor-a's web container lost the GPU
        "echo 'nouveau 2433024 0 - Live 0x0000000000000000' >> /srv/fake-proc/modules",
        f"touch {FAKES}/secureboot {FAKES}/modinfo-unsigned",
        f"touch {FAKES}/no-gpu",
        f"echo 120 > {FAKES}/clock-offset-s",
        f'echo \'{{"doctor-a": "UP", "doctor-b": "MAINT"}}\' > {FAKES}/lb-status.json',
        "fallocate -l 15M /var/log/ocr-doctor-filler",
        # doctor-b's stack now runs the other revision, and is unhealthy
        "docker rm -f ocrstack-b-web-1 && docker run -d --name ocrstack-b-web-1 --restart unless-stopped"
        " --label com.docker.compose.project=ocrstack-b --label com.docker.compose.service=web"
        " -v /usr/local/bin/nvidia-smi:/usr/local/bin/nvidia-smi:ro"
        f" -v {FAKES}/ctr-ocrstack-b-web-1:{FAKES}:ro"
        " ocrstack-doctor-probe:rev2",
        f"touch {FAKES}/ctr-ocrstack-b-web-1/unhealthy",
    ]
    for step in steps:
        host.run_test(step)
    health = "docker inspect --format '{{.State.Health.Status}}' "
    wait_for(host, health + "ocrstack-b-web-1", "unhealthy", exact=True)
    wait_for(host, health + "ocrstack-web-1", "healthy", exact=True)
    return doctor()


@pytest.fixture(scope="module")
def second_broken_run(host, broken_run):
    host.run_test(f"echo memfull > {FAKES}/nvidia-smi")  # 3900 of 4035 MiB used
    host.run_test("ln -sfn vmlinuz-6.1.0-29-amd64 /boot/vmlinuz")  # a kernel with no nvidia module built
    return doctor("--limit", "doctor-a")


def test_broken_hosts_fail_the_play_with_the_list_of_reds(broken_run):
    assert broken_run.returncode != 0
    assert re.search(r"ocr_doctor: \d+ red finding\(s\): .*doctor-a driver", broken_run.stdout)


@pytest.mark.parametrize(
    "host_name, status, check, text",
    [
        (
            "doctor-a",
            "RED",
            "driver",
            "kernel module 580.173.02 is loaded but the user-space NVML library is 580.178",
        ),
        ("doctor-a", "RED", "nouveau", "the nouveau module is loaded"),
        (
            "doctor-a",
            "RED",
            "secureboot",
            "Secure Boot is enabled and the nvidia module for 6.1.0-28-amd64 is not signed",
        ),
        ("doctor-a", "RED", "gpu", "no NVIDIA GPU on the PCI bus"),
        ("doctor-a", "RED", "runtime", "Docker has no nvidia runtime"),
        (
            "doctor-a",
            "RED",
            "ctr_gpu",
            "container ocrstack-web-1 lost the GPU (nvidia-smi inside: "
            "Failed to initialize NVML: Unknown Error)",
        ),
        ("doctor-b", "RED", "stack", "container ocrstack-b-web-1 is unhealthy"),
        ("doctor-a", "RED", "disk", "/var/log (on /var/log) is"),
        ("doctor-a", "RED", "clock", "s or more ahead of the controller"),
        ("doctor-b", "RED", "lb_pool", "doctor-b is MAINT on load balancer doctor-a"),
        ("doctor-a", "YELLOW", "revision", "web runs revision rev1; hosts run:"),
        ("doctor-b", "YELLOW", "revision", "web runs revision rev2; hosts run:"),
    ],
)
def test_each_provoked_finding_is_reported_with_its_fix(broken_run, host_name, status, check, text):
    lines = [line for line in findings(broken_run) if line.startswith(f"{host_name} | {status} | {check} | ")]
    assert any(text in line for line in lines), (lines, findings(broken_run))
    assert all(" | fix: " in line and not line.endswith("fix: ") for line in lines)


def test_table_marks_the_broken_checks_red(broken_run):
    row = re.search(r'"(doctor-a(?:\s+\S+){14})\s*"', broken_run.stdout).group(1).split()[1:]
    columns = ["reach", "driver", "kmod", "nouveau", "secureboot", "gpu", "runtime", "ctr_gpu", "gpu_mem",
               "disk", "stack", "lb_pool", "clock", "revision"]  # fmt: skip
    table = dict(zip(columns, row, strict=True))
    broken = ("driver", "nouveau", "secureboot", "gpu", "runtime", "ctr_gpu", "disk", "clock")
    assert {c: table[c] for c in broken} == dict.fromkeys(broken, "red")
    assert table["revision"] == "yellow" and table["reach"] == "green"


@pytest.mark.parametrize(
    "check, text",
    [
        ("kmod", "no nvidia module for the default kernel 6.1.0-29-amd64"),
        ("gpu_mem", "GPU 0 (GeForce GTX 980): 3900 of 4035 MiB used (96.7%)"),
    ],
)
def test_module_for_the_next_kernel_and_gpu_memory_are_reported(second_broken_run, check, text):
    assert second_broken_run.returncode != 0
    lines = [line for line in findings(second_broken_run) if line.startswith(f"doctor-a | RED | {check} | ")]
    assert any(text in line for line in lines), findings(second_broken_run)
