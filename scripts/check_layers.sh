#!/usr/bin/env bash
# The include layering of host/ and cuda/: fails, naming file:line and both rooms, on every
# `#include "room/..."` that reaches up or sideways in the floors of scripts/layers.txt.
#   scripts/check_layers.sh [ROOT [LAYERS]]   ROOT: the tree to check (default: this checkout);
#                                             LAYERS: default ROOT/scripts/layers.txt
# layers.txt: one floor a line, bottom floor first; a line holds one or more rooms separated by
# spaces; `#` starts a comment. A room is a folder under host/ named by its first component
# (`graph` for host/graph/) or a folder under cuda/ named with its prefix (`cuda/api`).
# A file may include its own room's headers and those of rooms on lower floors only; rooms on
# one floor may not include each other. Includes are written relative to host/
# ("graph/graph.hpp") or as "cuda/api/..."; a file under cuda/ may also write "api/..." for
# cuda/api. Also errors: a quoted include that names no room of layers.txt, and a source file
# of host/ or cuda/ outside every room of layers.txt (a new folder must be given a floor).
# Only quoted includes are read (<...> is for the system and third-party headers); tests/ and
# bench/ are not checked.
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
layers="${2:-$root/scripts/layers.txt}"
exec python3 - "$root" "$layers" <<'PY'
import os, re, sys

root, layers_path = sys.argv[1], sys.argv[2]
shown_layers = os.path.relpath(layers_path, root)  # for messages
if shown_layers.startswith(".."):
    shown_layers = layers_path
SOURCE_SUFFIXES = (".cpp", ".hpp", ".h", ".cc", ".cu", ".cuh", ".inc")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')

# room -> floor number (0 = bottom)
floor_of = {}
with open(layers_path) as f:
    for line_no, line in enumerate(f, 1):
        rooms = line.split("#", 1)[0].split()
        if not rooms:
            continue
        floor = len(set(floor_of.values()))
        for room in rooms:
            if room in floor_of:
                sys.exit(f"check_layers: {layers_path}:{line_no}: room {room} is on two floors")
            floor_of[room] = floor
if not floor_of:
    sys.exit(f"check_layers: {layers_path} names no room")
cuda_names = {r.split("/", 1)[1] for r in floor_of if r.startswith("cuda/")}
if os.path.isdir(os.path.join(root, "cuda")):
    cuda_names |= {d for d in os.listdir(os.path.join(root, "cuda"))
                   if os.path.isdir(os.path.join(root, "cuda", d))}


def room_of_file(rel):
    """host/graph/x.cpp -> graph, cuda/api/x.hpp -> cuda/api, None when in no folder."""
    parts = rel.split("/")
    if len(parts) < 3:
        return None
    return parts[1] if parts[0] == "host" else "cuda/" + parts[1]


def room_of_include(path, from_cuda):
    """The room an include names, or None when it names none."""
    parts = path.split("/")
    if len(parts) < 2:
        return None
    if parts[0] == "cuda":
        return "cuda/" + parts[1] if len(parts) > 2 else None
    if from_cuda and parts[0] in cuda_names:
        # Relative to cuda/ ("api/gpu_api.hpp"), unless only host/ holds the file.
        in_cuda = os.path.exists(os.path.join(root, "cuda", path))
        in_host = os.path.exists(os.path.join(root, "host", path))
        if in_cuda or not in_host:
            return "cuda/" + parts[0]
    return parts[0]


def floor_name(room):
    return f"floor {floor_of[room] + 1}"


errors = []
checked = 0
for top in ("host", "cuda"):
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith(SOURCE_SUFFIXES):
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), root)
            room = room_of_file(rel)
            if room is None:
                errors.append(f"{rel}: a source file outside every room (put it in a folder)")
                continue
            if room not in floor_of:
                errors.append(f"{rel}: room {room} is on no floor of {shown_layers}")
                continue
            checked += 1
            with open(os.path.join(dirpath, name), errors="replace") as f:
                for line_no, line in enumerate(f, 1):
                    match = INCLUDE.match(line)
                    if not match:
                        continue
                    path = match.group(1)
                    target = room_of_include(path, room.startswith("cuda/"))
                    where = f'{rel}:{line_no}: #include "{path}": {room}'
                    if target is None or target not in floor_of:
                        hint = ""
                        if "cuda/" + path.split("/")[0] in floor_of:
                            hint = f' (write "cuda/{path}")'
                        errors.append(f"{where} includes {target or path}, which is no room"
                                      f" of {shown_layers}{hint}")
                    elif target == room or floor_of[target] < floor_of[room]:
                        continue
                    elif floor_of[target] == floor_of[room]:
                        errors.append(f"{where} includes {target}, a room on its own floor"
                                      f" ({floor_name(room)})")
                    else:
                        errors.append(f"{where} ({floor_name(room)}) includes {target}, which is"
                                      f" above it ({floor_name(target)})")

for error in errors:
    print(error)
if errors:
    print(f"check_layers: {len(errors)} include(s) or file(s) break the layering of {shown_layers}",
          file=sys.stderr)
    sys.exit(1)
print(f"check_layers: {checked} files keep the layering of {shown_layers}")
PY
