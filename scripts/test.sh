#!/usr/bin/env bash
# The test command (README, CI): installs what is missing, builds, runs every test.
# GPU tests skip with a reason when no device answers. Formatting is checked first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/check_format.sh
bash scripts/build.sh "$@"
ctest --test-dir build --output-on-failure --timeout 900 -j "$(nproc)"
