#!/usr/bin/env bash
# The main job on an example (README): installs what is missing, builds, then trains
# configs/quickstart.toml on the best device present. Until training lands it derives the
# reference examples instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
descent=build/host/cli/descent
if [[ -f configs/quickstart.toml ]] && "$descent" train --help >/dev/null 2>&1; then
  "$descent" train configs/quickstart.toml "$@"
else
  "$descent" derive "2*x^2*(4*x^3 - 3*x^4)" --wrt x
  "$descent" derive "(x^2 + 4*x^3)^5" --wrt x
fi
