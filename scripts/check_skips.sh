#!/usr/bin/env bash
# No silent skips: reads the JUnit file that `ctest --output-junit` wrote, prints every test that
# did not run with its reason, and fails when any of them skipped for a reason other than the
# absence of CUDA or of a GPU (the GPU tests' GTEST_SKIP reasons below). A test skipped because
# something CI could install is missing (NumPy, python3, ...) fails CI here, as does a test that
# ctest did not run at all (disabled, or no executable).
#   scripts/check_skips.sh BUILD_DIR/junit.xml
set -euo pipefail
junit="${1:?usage: scripts/check_skips.sh JUNIT_XML}"
exec python3 - "$junit" <<'PY'
import re, sys
import xml.etree.ElementTree as ET

# The reasons a test may skip for: no CUDA toolkit in the build, or no device answering.
NO_GPU = [
    r"this descent was built without CUDA",       # gpu_stub.cpp and the tests' SKIP_WITHOUT_CUDA
    r"this descent was built with CUDA",          # a test of the stub, on a CUDA build
    r"no CUDA device answered",                   # device_probe.cpp: the runtime's error
    r"the CUDA runtime found no device",          # device_probe.cpp: zero devices
]

path = sys.argv[1]
try:
    cases = ET.parse(path).getroot().iter("testcase")
except (OSError, ET.ParseError) as e:
    sys.exit(f"check_skips: cannot read {path}: {e}")


def gtest_reason(out):
    """The message of GTEST_SKIP() << ...: the lines between 'file:line: Skipped' and
    '[  SKIPPED ]' in the test's output."""
    m = re.search(r": Skipped\n(.*?)\n?\[  SKIPPED \]", out or "", re.S)
    return " ".join(m.group(1).split()) if m else None


allowed, refused = [], []
for case in cases:
    status = case.get("status")
    if status in ("run", "fail"):
        continue
    name = case.get("name")
    skipped = case.find("skipped")
    ctest_note = skipped.get("message") if skipped is not None else status
    reason = gtest_reason(case.findtext("system-out"))
    if reason is None:
        refused.append((name, f"not run by ctest ({ctest_note})"))
    elif any(re.search(p, reason) for p in NO_GPU):
        allowed.append((name, reason))
    else:
        refused.append((name, reason))

for name, reason in allowed:
    print(f"skipped (no GPU): {name}: {reason}")
for name, reason in refused:
    print(f"SKIPPED, NOT ALLOWED: {name}: {reason}")
if refused:
    print(f"check_skips: {len(refused)} test(s) did not run for a reason other than no GPU;"
          " install what they need (scripts/install_deps.sh) or fix them", file=sys.stderr)
    sys.exit(1)
print(f"check_skips: {len(allowed)} test(s) skipped, each for want of CUDA or a GPU")
PY
