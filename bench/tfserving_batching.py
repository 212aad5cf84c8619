"""TF Serving batching sweep on a GPU host: which batching.config serves the OCR models fastest.

Started by bench/gpu_acceptance.sh --sweep with the running TF Serving container of the stack. For
each candidate (max_batch_size x batch_timeout_micros) it starts a SECOND TF Serving container from
the same image, models and arguments, plus --enable_batching and that batching.config, on
127.0.0.1:<port> with a share of the GPU's memory; sends a fixed number of concurrent predict requests
(REST, zero inputs of the model's signature shape) to each model; stops the container; and prints a
table and the batching.config it recommends: the highest throughput whose p95 latency stays within
--p95-budget times the best p95 seen. Bounded: requests per model and candidate, and a time limit per
candidate. Only loopback is contacted.

    python bench/tfserving_batching.py --container <id> [--concurrency 32] [--requests 256]
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CANDIDATES = [(b, t) for b in (8, 16, 32, 64) for t in (1000, 5000, 20000)]


def batching_config(max_batch_size: int, batch_timeout_micros: int, num_batch_threads: int = 4) -> str:
    """TF Serving's batching parameters file (text protobuf)."""
    return (
        f"max_batch_size {{ value: {max_batch_size} }}\n"
        f"batch_timeout_micros {{ value: {batch_timeout_micros} }}\n"
        f"num_batch_threads {{ value: {num_batch_threads} }}\n"
        f"max_enqueued_batches {{ value: 100 }}\n"
        "pad_variable_length_inputs: true\n"
    )


def example_inputs(metadata: dict, fill: dict[int, int] | None = None) -> dict:
    """Zero inputs for the serving_default signature: batch 1, unknown dimensions filled in."""
    fill = fill or {1: 32, 2: 160}
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    inputs = {}
    for name, spec in signature["inputs"].items():
        dims = [int(d["size"]) for d in spec["tensor_shape"]["dim"]]
        shape = [1] + [d if d > 0 else fill.get(i, 1) for i, d in enumerate(dims) if i > 0]
        inputs[name] = _zeros(shape)
    return inputs


def _zeros(shape: list[int]):
    if len(shape) == 1:
        return [0.0] * shape[0]
    return [_zeros(shape[1:]) for _ in range(shape[0])]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def recommend(results: list[dict], p95_budget: float = 1.5) -> dict | None:
    """Highest throughput among the candidates whose p95 is within budget x the best p95."""
    ok = [r for r in results if r["errors"] == 0 and r["rps"] > 0]
    if not ok:
        return None
    best_p95 = min(r["p95_ms"] for r in ok)
    within = [r for r in ok if r["p95_ms"] <= p95_budget * best_p95]
    return max(within, key=lambda r: (r["rps"], -r["p95_ms"]))


def _request(port: int, method: str, path: str, body: bytes | None = None, timeout: float = 60.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _drive(port: int, model: str, body: bytes, concurrency: int, requests: int, limit_s: float) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    left = [requests]
    deadline = time.monotonic() + limit_s

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            start = time.perf_counter()
            try:
                status, _ = _request(port, "POST", f"/v1/models/{model}:predict", body)
                ok = status == 200
            except OSError:
                ok = False
            with lock:
                if ok:
                    latencies.append((time.perf_counter() - start) * 1000)
                else:
                    errors[0] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {"rps": len(latencies) / elapsed if elapsed else 0.0, "p95_ms": percentile(latencies, 95),
            "errors": errors[0]}


def _container_spec(container: str) -> dict:
    info = json.loads(subprocess.run(["docker", "inspect", container], check=True, capture_output=True,
                                     text=True).stdout)[0]
    mounts = [
        f"{m['Source']}:{m['Destination']}:ro" for m in info["Mounts"] if m["Type"] in ("bind", "volume")
    ]
    return {"image": info["Config"]["Image"], "mounts": mounts, "args": info["Config"]["Cmd"] or [],
            "env": [e for e in info["Config"]["Env"] or [] if e.startswith("MODEL_")]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--container", required=True, help="the stack's running TF Serving container")
    parser.add_argument("--models", nargs="+", default=["dbnet", "ctpn", "crnn"], help="models to drive")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, default=256, help="requests per model and candidate")
    parser.add_argument("--limit-s", type=float, default=120.0, help="time limit per model and candidate")
    parser.add_argument("--port", type=int, default=18501)
    parser.add_argument("--gpu-memory-fraction", type=float, default=0.4)
    parser.add_argument("--p95-budget", type=float, default=1.5)
    args = parser.parse_args(argv)

    spec = _container_spec(args.container)
    results = []
    for max_batch, timeout_us in CANDIDATES:
        with tempfile.TemporaryDirectory() as cfg_dir:
            Path(cfg_dir, "batching.config").write_text(batching_config(max_batch, timeout_us))
            run = ["docker", "run", "-d", "--rm", "--runtime", "nvidia", "-e", "NVIDIA_VISIBLE_DEVICES=all",
                   "-p", f"127.0.0.1:{args.port}:8501", "-v", f"{cfg_dir}:/sweep:ro"]
            for mount in spec["mounts"]:
                run += ["-v", mount]
            for env in spec["env"]:
                run += ["-e", env]
            run += [spec["image"], *spec["args"], "--enable_batching",
                    "--batching_parameters_file=/sweep/batching.config",
                    f"--per_process_gpu_memory_fraction={args.gpu_memory_fraction}"]
            cid = subprocess.run(run, check=True, capture_output=True, text=True).stdout.strip()
            try:
                row = {"max_batch_size": max_batch, "batch_timeout_micros": timeout_us}
                rps, p95, errs = 0.0, 0.0, 0
                for model in args.models:
                    for _ in range(120):  # up to 60 s for the model to load
                        try:
                            status, _ = _request(args.port, "GET", f"/v1/models/{model}", timeout=2)
                            if status == 200:
                                break
                        except OSError:
                            pass
                        time.sleep(0.5)
                    status, meta = _request(args.port, "GET", f"/v1/models/{model}/metadata")
                    body = json.dumps({"inputs": example_inputs(json.loads(meta))}).encode()
                    out = _drive(args.port, model, body, args.concurrency, args.requests, args.limit_s)
                    rps += out["rps"]
                    p95 = max(p95, out["p95_ms"])
                    errs += out["errors"]
                row.update(rps=rps, p95_ms=p95, errors=errs)
                results.append(row)
                print(f"max_batch_size {max_batch:3d}  batch_timeout_micros {timeout_us:6d}  "
                      f"{rps:8.1f} predict/s  p95 {p95:8.1f} ms  errors {errs}", flush=True)
            finally:
                subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
    best = recommend(results, args.p95_budget)
    if best is None:
        print("no candidate served without errors: no recommendation")
        return 1
    print(f"\nrecommended batching.config (concurrency {args.concurrency}):")
    print(batching_config(best["max_batch_size"], best["batch_timeout_micros"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
