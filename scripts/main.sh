#!/usr/bin/env bash
# The main job: set up (first run only), then SeqGAN on SeqGAN-Oracle-v0 with the `quick` preset
# (on 2 CPU cores, 2 minutes with AVX-512, 6 with AVX2 only): MLE pretraining, discriminator
# pretraining, adversarial epochs beside the MLE-only control. Prints progress; writes
# results/quick/ (metrics.csv, nll_oracle.png, samples.txt, ...). Extra arguments go to
# examples/train_oracle.py (try --help); a second run needs another --out, or --resume results/quick.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python examples/train_oracle.py "$@"
