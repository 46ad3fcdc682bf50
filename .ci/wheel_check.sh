#!/usr/bin/env bash
# The wheel check: what a user gets from `pip install dia-studio` (or pipx), not from the editable install.
# Builds the sdist and, from it, the wheel (so the sdist is complete), installs the wheel into a fresh venv and
# runs the installed `dia-studio` from outside the source tree: --help, synth and render with the tiny model in
# tests/data, and the editor's start-up smoke test offscreen.
#
# Third-party packages: by default the fresh venv sees the main .venv's site-packages through a .pth line
# (its own .pth files, the editable install of this project among them, stay inactive), `pip check` proves every
# declared dependency is there in a compatible version, and only our wheel is installed: this keeps CI short,
# since the pip cache does not keep the multi-GB torch wheels here. DIA_WHEEL_CHECK_CLEAN=1 installs every
# dependency from the package index instead (a truly clean venv; minutes longer).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
started=$SECONDS

"$root/.venv/bin/python" -m build --outdir "$work/dist" "$root" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
wheel=$(ls "$work"/dist/*.whl)
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
if [ "${DIA_WHEEL_CHECK_CLEAN:-0}" = 1 ]; then
    "$py" -m pip install -q "$wheel"
else
    purelib() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
    purelib "$root/.venv/bin/python" >"$(purelib "$py")/_ci_main_venv.pth"
    "$py" -m pip install -q --no-deps --force-reinstall "$wheel"
    "$py" -m pip check
fi

# A user's machine: its own folders, no network, no source tree on the path.
export XDG_CONFIG_HOME="$work/home/config" XDG_DATA_HOME="$work/home/data" XDG_CACHE_HOME="$work/home/cache"
export XDG_STATE_HOME="$work/home/state" HF_HUB_OFFLINE=1 QT_QPA_PLATFORM=offscreen
unset PYTHONPATH DIA_STUDIO_CACHE
cd "$work"
app="$work/venv/bin/dia-studio"
engine=(--model "$root/tests/data/dia-tiny" --codec "$root/tests/data/dac-tiny/weights.pth" --device cpu)

"$py" - "$work/venv" <<'PY'
import sys
from importlib.resources import files
import commands, dia_engine, gui, projects, resources, server
from projects.tags import known_tags
for package in (commands, dia_engine, gui, projects, resources, server):
    assert package.__file__.startswith(sys.argv[1]), f"{package.__name__} imported from {package.__file__}"
assert files("dia_engine").joinpath("cpu_kernels.c").is_file(), "the C kernel source is not installed"
assert "laughs" in known_tags()
print("wheel: packages, tag list and kernel source installed")
PY
"$app" --help | grep -q "synth,render,serve"
"$app" synth "[S1] Hello from the wheel." "${engine[@]}" --seed 1 --max-tokens 40 --out hello.wav
printf '%s\n' "[S1] Welcome to the wheel check." "[S2] Three lines, (laughs) two voices." "[S1] And a mix." >script.txt
"$app" render script.txt --project episode "${engine[@]}" --seed 1 --max-tokens 40 --out episode.wav
test -s hello.wav && test -s episode.wav && test -f episode/project.json
"$app" --quit-after-show
test -f "$XDG_CONFIG_HOME/dia-studio/settings.ini"
echo "wheel check passed in $((SECONDS - started)) s"
