"""Helpers of the web tests: a real gunicorn running the OCR service on a free 127.0.0.1 port.

The service is started the way operators start it (`python -m ocr_service.launcher`, i.e. the
`ocr-service` console script with the packaged gunicorn.conf.py), configured only through OCR_*
variables. Models: the bundled ones a service of default settings calls (`models/dbnet/` and
`models/crnn/`) when they hold a version and OCR_TEST_TINY_MODELS is not set, else tiny stand-ins
(ocrstack_testing.tiny_models) that read a bar pattern.
Every wait is bounded in count and time; traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import functools
import io
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from ocr_service.settings import Settings
from PIL import Image, ImageDraw, ImageFont

from ocrstack_testing.standin import free_port

REPO = Path(__file__).resolve().parents[3]
BUNDLED_MODELS = REPO / "models"


def newest_versions(model_dir: Path, names: tuple[str, ...] = Settings().models) -> dict[str, str]:
    """{model: its highest numeric version directory holding a SavedModel}: what a service serves
    unpinned (TF Serving's `latest` policy; the in-process runner the same). Missing models left out.
    `names`: by default the models a service of default settings calls (its detector and crnn)."""
    newest = {}
    for name in names:
        found = [int(p.parent.name) for p in (model_dir / name).glob("*/saved_model.pb")
                 if p.parent.name.isdigit()]  # fmt: skip
        if found:
            newest[name] = str(max(found))
    return newest


def bundled_models_present() -> bool:
    return set(newest_versions(BUNDLED_MODELS)) == set(Settings().models)


USE_BUNDLED = bundled_models_present() and not os.environ.get("OCR_TEST_TINY_MODELS")


def worker_pids(master_pid: int) -> set[int]:
    """gunicorn workers: the live children of the master (read from /proc, no extra dependency)."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, ppid = fields[0], int(fields[1])
        if ppid == master_pid and state != "Z":
            pids.add(int(stat.parent.name))
    return pids


class Gunicorn:
    """One `ocr-service` process tree; logs go to files so tests can read them."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("OCR_", "PROMETHEUS_"))},
            "OCR_HOST": "127.0.0.1",
            "OCR_PORT": str(self.port),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            **env,
        }
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = log_dir / "stdout.log"
        self.stderr_path = log_dir / "stderr.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ocr_service.launcher"], env=self.env, stdout=out, stderr=err
            )

    def wait_until(self, path: str, status: int, timeout_s: float = 180.0) -> requests.Response:
        """Poll `path` until it answers `status` (bounded: at most timeout_s and 2000 tries)."""
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        for _ in range(2000):
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                response = requests.get(self.url + path, timeout=5)
                if response.status_code == status:
                    return response
                last = f"{response.status_code} {response.text[:200]}"
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = str(exc)  # not bound yet, or workers still loading (the backlog holds the call)
            if time.monotonic() > deadline:
                break
            time.sleep(0.25)
        raise RuntimeError(f"{path} never answered {status} in {timeout_s} s (last: {last}):\n{self.logs()}")

    def workers(self) -> set[int]:
        assert self.proc is not None
        return worker_pids(self.proc.pid)

    def ready_workers(self) -> set[int]:
        """Live workers that logged "pipeline ready" (models loaded and warmed up)."""
        ready = set()
        for line in self.stderr_path.read_text(errors="replace").splitlines():
            if line.startswith("{") and "pipeline ready" in line:
                ready.add(json.loads(line)["pid"])
        return ready & self.workers()

    def wait_workers_ready(self, count: int, exclude: frozenset[int] = frozenset(), timeout_s: float = 180.0):
        """Wait (bounded) until `count` live workers outside `exclude` have warmed up; return them."""
        deadline = time.monotonic() + timeout_s
        for _ in range(2000):
            ready = self.ready_workers() - set(exclude)
            if len(ready) >= count:
                return ready
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.logs()}")
            if time.monotonic() > deadline:
                break
            time.sleep(0.25)
        raise RuntimeError(f"fewer than {count} ready workers after {timeout_s} s:\n{self.logs()}")

    def logs(self) -> str:
        out = self.stdout_path.read_text(errors="replace")[-3000:] if self.stdout_path.exists() else ""
        err = self.stderr_path.read_text(errors="replace")[-6000:] if self.stderr_path.exists() else ""
        return f"--- stdout ---\n{out}\n--- stderr ---\n{err}"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # graceful: workers finish, master exits
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


# --- images the service must read --------------------------------------------------------------------


# With the trained models a line may come back with a character or two wrong; the tiny stand-ins
# must read exactly. Either way the whole pipeline runs for real.
MAX_CER = 0.15


@dataclass
class Sample:
    image: Image.Image  # upright RGB
    text: str  # what the service must read from it
    exact: bool = True

    def matches(self, read: str) -> bool:
        if self.exact:
            return read == self.text
        from rapidfuzz.distance import Levenshtein

        return Levenshtein.normalized_distance(read, self.text) <= MAX_CER


def bar_sample(bars: int = 5, size: tuple[int, int] = (400, 120)) -> Sample:
    """`bars` black bars on white paper, one row: the tiny models read `bars:<count>`."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    # bars narrower than the 24 px that ctpn.refine takes for a horizontal rule
    x, top, bar_w, gap, bar_h = 40, size[1] // 2 - 18, 18, 14, 36
    for _ in range(bars):
        draw.rectangle([x, top, x + bar_w - 1, top + bar_h - 1], fill="black")
        x += bar_w + gap
    return Sample(image, f"bars:{bars}")


SAMPLE_TEXTS = (
    "发票号码 20261127",
    "合计金额 3,280.00 元",
    "客户名称 北京市海淀区",
    "数量 12 单价 45.60",
    "开票日期 2026年11月27日",
    "付款方式 银行转账",
    "备注 第 7 页",
)


@functools.cache
def _train_font_file() -> tuple[str, int]:
    """A font the models were trained on, found the way ocr_synth finds fonts (never a fixed path)."""
    from ocr_synth.fonts import discover

    specs = [s for s in discover("train") if s.cjk and not s.bold]
    spec = next((s for s in specs if s.family == "Noto Sans CJK SC"), specs[0])
    return spec.path, spec.index


def train_font(px: int) -> ImageFont.FreeTypeFont:
    """The training font of the text samples at `px` pixels."""
    path, index = _train_font_file()
    return ImageFont.truetype(path, px, index=index)


def text_sample(variant: int = 0, size: tuple[int, int] = (720, 140)) -> Sample:
    """One clean line of business-document text, black on white, ~36 px high."""
    font = train_font(36)
    text = SAMPLE_TEXTS[variant % len(SAMPLE_TEXTS)]
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text((40 - left, (size[1] - (bottom - top)) // 2 - top), text, font=font, fill="black")
    return Sample(image, text, exact=False)


def text_page() -> tuple[Image.Image, list[str]]:
    """Five lines of business text, 28 px, on a 900 x 520 page (upright): enough ink for the
    page-orientation classifier to vote on (the bundled models read it)."""
    from PIL import ImageDraw

    font = train_font(28)
    page = Image.new("RGB", (900, 520), "white")
    draw = ImageDraw.Draw(page)
    texts = list(SAMPLE_TEXTS[:5])
    for row, text in enumerate(texts):
        draw.text((50, 40 + 95 * row), text, font=font, fill="black")
    return page, texts


def encode(image: Image.Image, fmt: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def read_text(body: dict) -> str:
    return "\n".join(line["text"] for line in body["lines"])
