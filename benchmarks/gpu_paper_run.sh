#!/usr/bin/env bash
# The paper's whole schedule on the authors' oracle in one sitting on a GPU, from nothing:
#   bash benchmarks/gpu_paper_run.sh ORACLE_FILE OUT [extra train-oracle options]
# ORACLE_FILE is LantaoYu/SeqGAN's save/target_params_py3.pkl (not shipped: that repository has no licence).
# Sets up (scripts/setup.sh; SEQGAN_TORCH picks a CUDA build of torch), runs `seqgan-gym train-oracle
# --preset paper --device cuda`, which writes metrics.csv row by row and samples.txt at the end into OUT,
# then prints the per-phase times. SEQGAN_DEVICE=cpu and extra options (--config, --mle-epochs ...) give
# the same script's short schedule on a CPU (how the tests run it).
set -euo pipefail
cd "$(dirname "$0")/.."
oracle=${1:?usage: gpu_paper_run.sh ORACLE_FILE OUT [options]}
out=${2:?usage: gpu_paper_run.sh ORACLE_FILE OUT [options]}
shift 2
if [ ! -x .venv/bin/python ]; then bash scripts/setup.sh; fi
start=$(date +%s)
.venv/bin/python -m agents.cli train-oracle --preset "${SEQGAN_PRESET:-paper}" --device "${SEQGAN_DEVICE:-cuda}" \
    --oracle-file "$oracle" --out "$out" --no-progress --checkpoint-every 600 "$@"
.venv/bin/python benchmarks/phase_times.py "$out"
echo "wall time, set-up excluded: $(( $(date +%s) - start )) s"
