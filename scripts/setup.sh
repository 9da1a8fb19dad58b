#!/usr/bin/env bash
# Create .venv and install seqgan-gym into it, from nothing. Safe to run again: it skips the
# installs when pyproject.toml, this script and the torch choice are unchanged.
#
#   bash scripts/setup.sh        # the package (what scripts/main.sh needs)
#   bash scripts/setup.sh experiments  # plus what examples/ need beyond it (sb3-contrib, scipy)
#   bash scripts/setup.sh docs   # plus the documentation tools (mkdocs, the tutorial's Jupyter kernel and runner)
#   bash scripts/setup.sh dev    # plus the test tools (pytest, hypothesis, ruff, nltk), the experiments' and the docs' needs
#
# torch is installed first and on purpose as a CPU build: left to pip, the stable-baselines3
# dependency would pull the newest torch with its multi-GB CUDA stack. SEQGAN_TORCH picks another
# torch requirement and SEQGAN_TORCH_INDEX an index to take it from (e.g. PyTorch's CPU wheel
# index, where PyPI's default Linux wheel is a CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."

extra="${1:-}"
case "$extra" in "" | experiments | docs | dev) ;; *) echo "usage: bash scripts/setup.sh [experiments | docs | dev]" >&2; exit 2 ;; esac
python="${PYTHON:-python3}"
torch_req="${SEQGAN_TORCH:-torch==2.13.0}"
torch_index="${SEQGAN_TORCH_INDEX:-}"

stamp=".venv/.seqgan-setup${extra:+-$extra}"
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16) $torch_req $torch_index"
for done_stamp in "$stamp" .venv/.seqgan-setup-dev; do  # the dev install contains the others
    if [ -x .venv/bin/python ] && [ -f "$done_stamp" ] && [ "$(cat "$done_stamp")" = "$want" ]; then
        exit 0
    fi
done

quiet_pip() {  # pip, minus this machine's notes about optional local package folders
    .venv/bin/python -m pip install --quiet "$@" 2>&1 | { grep -v "^WARNING: Location '" || true; }
    return "${PIPESTATUS[0]}"
}

echo "setup: creating .venv and installing seqgan-gym${extra:+ [$extra]} ($torch_req, CPU build)" >&2
[ -x .venv/bin/python ] || "$python" -m venv .venv
if [ -n "$torch_index" ]; then
    quiet_pip "$torch_req" --index-url "$torch_index"
else
    quiet_pip "$torch_req"
fi
quiet_pip -e ".${extra:+[$extra]}"
.venv/bin/python - <<'PY'
import torch
build = "CPU" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
print(f"setup: torch {torch.__version__} ({build} build)")
PY
echo "$want" > "$stamp"
