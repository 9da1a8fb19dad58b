#!/usr/bin/env bash
# The main job: set up (first run only), then a short run on SeqGAN-Oracle-v0 that prints its
# progress and writes its results to results/demo/. Extra arguments go to the example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python examples/oracle_demo.py "$@"
