"""`ocr-client` against the real service: files and folders in, text or JSON out, honest exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

from ocrstack_testing.web import encode, free_port


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
