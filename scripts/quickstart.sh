#!/usr/bin/env bash
# The main job on an example (README): installs what is missing, builds, then trains
# configs/quickstart.toml on the best device present. Arguments go to `descent train`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec build/host/cli/descent train configs/quickstart.toml "$@"
