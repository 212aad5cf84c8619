"""bench/gpu_acceptance.sh without a GPU or a deployed stack (CI), and the batching sweep's logic."""

import importlib.util
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("tfserving_batching", REPO / "bench" / "tfserving_batching.py")
batching = importlib.util.module_from_spec(spec)
spec.loader.exec_module(batching)


def test_acceptance_on_a_cpu_only_machine_says_what_it_skipped_and_passes():
    # no stack of this project, nothing listening on port 9: every GPU/stack part is skipped
    out = subprocess.run(
        ["bash", str(REPO / "bench" / "gpu_acceptance.sh"), "--project", "ocrstack-acceptance-test-none",
         "--url", "single=http://127.0.0.1:9", "--url", "tfserving=http://127.0.0.1:9", "--sweep",
         "--python", sys.executable],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    for section in ("== driver and CUDA", "== TensorFlow in the web container", "== GPU memory per process",
                    "== pages/s per mode and concurrency", "== TF Serving batching sweep", "== summary"):
        assert section in text
    assert "SKIPPED: single: nothing ready at http://127.0.0.1:9/readyz" in text
    assert "SKIPPED: tfserving: nothing ready at http://127.0.0.1:9/readyz" in text
    assert "SKIPPED: no running web container of compose project 'ocrstack-acceptance-test-none'" in text
    if "nvidia-smi" not in text and "SKIPPED: no NVIDIA driver answering" in text:
        assert "SKIPPED: needs an NVIDIA GPU" in text
    assert "failed: 0" in text


def test_strict_acceptance_fails_where_a_part_could_not_run():
    # the acceptance of a GPU host: a part skipped (no GPU, no stack here) is a failure, not a pass
    out = subprocess.run(
        ["bash", str(REPO / "bench" / "gpu_acceptance.sh"), "--strict",
         "--project", "ocrstack-acceptance-test-none", "--url", "single=http://127.0.0.1:9", "--levels", "1",
         "--python", sys.executable],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 1, out.stdout + out.stderr
    assert "SKIPPED: single: nothing ready at http://127.0.0.1:9/readyz" in out.stdout
    assert "part(s) skipped; on a GPU host with the stack deployed, every part runs" in out.stdout


def test_acceptance_rejects_an_unknown_argument():
    out = subprocess.run(["bash", str(REPO / "bench" / "gpu_acceptance.sh"), "--bogus"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "unknown argument --bogus" in out.stderr


def test_batching_config_is_tf_serving_text_format():
    text = batching.batching_config(32, 5000, 4)
    assert "max_batch_size { value: 32 }" in text
    assert "batch_timeout_micros { value: 5000 }" in text
    assert "num_batch_threads { value: 4 }" in text


def test_recommendation_is_the_fastest_within_the_latency_budget():
    results = [
        {"max_batch_size": 8, "batch_timeout_micros": 1000, "rps": 100.0, "p95_ms": 40.0, "errors": 0},
        {"max_batch_size": 64, "batch_timeout_micros": 20000, "rps": 180.0, "p95_ms": 90.0, "errors": 0},
        {"max_batch_size": 32, "batch_timeout_micros": 5000, "rps": 150.0, "p95_ms": 55.0, "errors": 0},
        {"max_batch_size": 16, "batch_timeout_micros": 1000, "rps": 400.0, "p95_ms": 10.0, "errors": 3},
    ]
    best = batching.recommend(results, p95_budget=1.5)
    assert (best["max_batch_size"], best["batch_timeout_micros"]) == (32, 5000)
    assert batching.recommend([{"rps": 0.0, "p95_ms": 1.0, "errors": 1}]) is None


def test_example_inputs_follow_the_signature_shape():
    meta = {"metadata": {"signature_def": {"signature_def": {"serving_default": {"inputs": {
        "image": {"tensor_shape": {"dim": [{"size": "-1"}, {"size": "32"}, {"size": "-1"}, {"size": "1"}]}}
    }}}}}}
    inputs = batching.example_inputs(meta)
    image = inputs["image"]
    assert (len(image), len(image[0]), len(image[0][0]), len(image[0][0][0])) == (1, 32, 160, 1)
