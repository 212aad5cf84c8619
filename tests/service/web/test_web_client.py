"""`ocr-client` against the real service: files and folders in, text or JSON out, honest exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from ocrstack_testing.web import encode, free_port, text_page
from PIL import Image


def run_client(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ocr_service.client", *args], capture_output=True, text=True, timeout=120
    )


def test_one_file_prints_its_text(server, make_sample, tmp_path):
    sample = make_sample(1)
    (tmp_path / "one.png").write_bytes(encode(sample.image))
    done = run_client("--url", server.url, str(tmp_path / "one.png"))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.endswith("\n") and sample.matches(done.stdout[:-1])


def test_folder_in_json_out_with_a_refused_file_exits_1(server, make_sample, tmp_path):
    first, second = make_sample(0), make_sample(2)
    (tmp_path / "a.png").write_bytes(encode(first.image))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.jpg").write_bytes(encode(second.image, "JPEG", quality=95))
    (tmp_path / "fake.png").write_text("not really a png")
    (tmp_path / "notes.txt").write_text("ignored: not an image suffix")

    done = run_client("--url", server.url, "--format", "json", "--progress", str(tmp_path))
    assert done.returncode == 1
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["file"] for r in results] == [str(tmp_path / "a.png"), str(tmp_path / "sub" / "b.jpg")]
    assert first.matches("\n".join(line["text"] for line in results[0]["lines"]))
    assert second.matches("\n".join(line["text"] for line in results[1]["lines"]))
    assert f"{tmp_path / 'fake.png'}: HTTP 415 unsupported_media_type" in done.stderr
    assert "3/3" in done.stderr  # the progress bar went through every image


def test_text_format_for_several_files_names_each(server, make_sample, tmp_path):
    paths = []
    for variant in (0, 1):
        path = tmp_path / f"p{variant}.png"
        path.write_bytes(encode(make_sample(variant).image))
        paths.append(str(path))
    done = run_client("--url", server.url, *paths)
    assert done.returncode == 0
    blocks = done.stdout.split("==> ")[1:]
    assert [block.split(" <==\n")[0] for block in blocks] == paths
    assert all(
        make_sample(v).matches(block.split(" <==\n")[1].rstrip("\n")) for v, block in enumerate(blocks)
    )


def test_unreachable_service_exits_2_with_a_message(make_sample, tmp_path):
    (tmp_path / "one.png").write_bytes(encode(make_sample().image))
    done = run_client("--url", f"http://127.0.0.1:{free_port()}", "--timeout", "5", str(tmp_path / "one.png"))
    assert done.returncode == 2
    assert "cannot reach the service" in done.stderr


def test_pdf_prints_page_by_page(server, make_sample, tmp_path):
    from ocrstack_testing.pdf import image_pdf

    samples = [make_sample(3), make_sample(4)]
    (tmp_path / "two.pdf").write_bytes(image_pdf([s.image for s in samples]))
    done = run_client("--url", server.url, str(tmp_path / "two.pdf"))
    assert (done.returncode, done.stderr) == (0, "")
    first, second = done.stdout.split("--- page 2 ---\n")
    assert first.startswith("--- page 1 ---\n")
    assert samples[0].matches(first.removeprefix("--- page 1 ---\n").rstrip("\n"))
    assert samples[1].matches(second.rstrip("\n"))


def test_turned_pages_are_read_and_the_client_says_how_they_were_turned(oriented_server, tmp_path):
    from ocrstack_testing.pdf import image_pdf

    page, texts = text_page()
    sideways = Image.fromarray(np.rot90(np.asarray(page), 1))  # a quarter turn counter-clockwise
    (tmp_path / "sideways.png").write_bytes(encode(sideways))
    done = run_client("--url", oriented_server.url, str(tmp_path / "sideways.png"))
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"ocr-client: {tmp_path / 'sideways.png'}: read turned 90 degrees clockwise\n"
    assert [squeeze(t) for t in done.stdout.splitlines()] == [squeeze(t) for t in texts]

    upside_down = Image.fromarray(np.rot90(np.asarray(page), 2))
    (tmp_path / "two.pdf").write_bytes(image_pdf([page, upside_down], dpi=150))
    done = run_client("--url", oriented_server.url, str(tmp_path / "two.pdf"))
    assert (done.returncode, done.stderr) == (0, "")  # a document's pages say it in their headers
    headers = [line for line in done.stdout.splitlines() if line.startswith("--- page")]
    assert headers == ["--- page 1 ---", "--- page 2, turned 180 ---"]


def squeeze(text: str) -> str:
    return "".join(text.split())  # the recogniser may read a space or not between 00 and 元
