#!/usr/bin/env bash
# GPU host acceptance, run ON the host after playbooks/site.yml (from a checkout of this repository):
#   bench/gpu_acceptance.sh [--project ocrstack] [--url single=http://127.0.0.1:8080] \
#                           [--url tfserving=http://127.0.0.1:8081] [--levels "1 8 32"] [--requests 64] \
#                           [--page samples/page.png] [--sweep] [--strict] [--python python3]
# Prints: driver and CUDA versions; docker's nvidia runtime and live-restore; whether TensorFlow sees
# the GPU in the web container; GPU memory per process (one per gunicorn worker in single mode, TF
# Serving in tfserving mode); pages/s per mode at each concurrency level (bench/load.py); with --sweep,
# a TF Serving batching sweep (bench/tfserving_batching.py) and the batching.config it recommends.
# Each mode's URL is a deployed stack (deploy it with ocr_mode single, then tfserving, or run two
# stacks on two ports). A part that cannot run here (no NVIDIA driver, no docker, no stack
# answering) prints "SKIPPED: <why>" and the script goes on: on a CPU-only machine (CI) it ends
# with exit 0 and a list of what it skipped. Exit 1 when a check that ran failed (e.g. the GPU is
# there but TensorFlow in the web container does not see it: the service would run on CPU), and with
# --strict (the acceptance of a GPU host) also when a part was skipped.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
project=ocrstack
levels="1 8 32"
requests=64
page=""
sweep=0
strict=0
python=${PYTHON:-python3}
urls=()
while [ $# -gt 0 ]; do
  case "$1" in
    --project) project=$2; shift 2 ;;
    --url) urls+=("$2"); shift 2 ;;
    --levels) levels=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --page) page=$2; shift 2 ;;
    --sweep) sweep=1; shift ;;
    --strict) strict=1; shift ;;
    --python) python=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "gpu_acceptance: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#urls[@]} -gt 0 ] || urls=("deployed=http://127.0.0.1:8080")

skipped=()
failed=()
section() { printf '\n== %s\n' "$1"; }
skip() { echo "SKIPPED: $1"; skipped+=("$2: $1"); }
fail() { echo "FAIL: $1"; failed+=("$1"); }

section "driver and CUDA"
gpu=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  gpu=1
  nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader
  echo "CUDA (driver API): $(nvidia-smi | grep -o 'CUDA Version: [0-9.]*' | head -n 1 | cut -d' ' -f3)"
  echo "loaded module: $(cat /sys/module/nvidia/version 2>/dev/null || echo none)"
else
  skip "no NVIDIA driver answering (nvidia-smi missing or failing): a CPU-only machine" "driver"
fi

section "docker"
docker_ok=0
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  docker_ok=1
  docker info --format 'engine {{.ServerVersion}}; runtimes {{range $k, $v := .Runtimes}}{{$k}} {{end}}; default {{.DefaultRuntime}}; live-restore {{.LiveRestoreEnabled}}'
else
  skip "no docker engine answering" "docker"
fi

web=""
tfs=""
if [ "$docker_ok" = 1 ]; then
  web=$(docker ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=web" | head -n 1)
  tfs=$(docker ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=tfserving" | head -n 1)
fi

section "TensorFlow in the web container"
if [ -z "$web" ]; then
  skip "no running web container of compose project '$project'" "tf-gpu"
else
  seen=$(docker exec "$web" python -c "import tensorflow as tf; print(len(tf.config.list_physical_devices('GPU')))" 2>/dev/null | tail -n 1)
  echo "GPUs TensorFlow sees in the web container: ${seen:-error}"
  if [ "$gpu" = 1 ] && [ "${seen:-0}" = 0 ]; then
    if [ -n "$tfs" ]; then
      echo "(tfserving mode: the web container runs no model; TF Serving holds the GPU, see memory below)"
    else
      fail "this host has an NVIDIA GPU but TensorFlow in the web container sees none: the service runs on CPU"
    fi
  fi
fi

section "GPU memory per process"
if [ "$gpu" = 1 ]; then
  apps=$(nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv,noheader)
  if [ -n "$apps" ]; then echo "$apps"; else echo "no process holds GPU memory"; fi
  nvidia-smi --query-gpu=index,memory.used,memory.total --format=csv,noheader
else
  skip "no NVIDIA GPU" "memory"
fi

section "pages/s per mode and concurrency"
for spec in "${urls[@]}"; do
  label=${spec%%=*}
  base=${spec#*=}
  base=${base%/}
  if ! "$python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)" "$base/readyz" >/dev/null 2>&1; then
    skip "$label: nothing ready at $base/readyz" "load-$label"
    continue
  fi
  # shellcheck disable=SC2086
  "$python" "$here/load.py" --url "$base/v1/ocr" ${page:+--image "$page"} --concurrency $levels \
    --requests "$requests" --label "$label" || fail "$label: bench/load.py failed"
done

section "TF Serving batching sweep"
if [ "$sweep" != 1 ]; then
  echo "not asked for (--sweep)"
elif [ "$gpu" != 1 ] || [ -z "$tfs" ]; then
  skip "needs an NVIDIA GPU and the running tfserving container of project '$project'" "sweep"
else
  "$python" "$here/tfserving_batching.py" --container "$tfs" || fail "batching sweep failed"
fi

section "summary"
echo "skipped: ${#skipped[@]}"
for s in "${skipped[@]}"; do echo "  - $s"; done
if [ "$strict" = 1 ] && [ ${#skipped[@]} -gt 0 ]; then
  failed+=("--strict: ${#skipped[@]} part(s) skipped; on a GPU host with the stack deployed, every part runs")
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${#failed[@]}"
  for f in "${failed[@]}"; do echo "  - $f"; done
  exit 1
fi
echo "failed: 0"
