#!/usr/bin/env bash
# `npm run notebooks`: executes every notebooks/*.ipynb headlessly with Jupyter's nbconvert and the tslab
# (TypeScript) kernel, and fails if any cell errors (a tslab type error counts). It installs what it needs:
#
#   1. Jupyter from Debian: apt-get install jupyter-nbconvert jupyter-client (as root, or through sudo), unless
#      `jupyter nbconvert` already works.
#   2. tslab from the npm registry into node_modules/.cache/tslab (kept out of the project's dependencies).
#      Its zeromq dependency ships prebuilt native binaries inside the npm package (linux x64/arm64, darwin,
#      win32), so nothing is downloaded from elsewhere; on another platform zeromq would have to build libzmq
#      from source, which this script does not attempt.
#   3. A kernel spec for tslab in a temporary JUPYTER_PATH: the kernel.json that `tslab install` writes, pointing
#      at the tslab above (`tslab install` itself needs IPython in Jupyter's Python, and would touch the user's
#      Jupyter configuration). To use the notebooks interactively, run `npx tslab install` in your own Jupyter.
#   4. `npm run build`: the notebooks import the built package (../dist).
#
# Executed copies go to $NOTEBOOKS_OUT (default: a temporary directory); the notebooks in the repository stay
# with their outputs cleared. Environment: NOTEBOOK_STEPS (selective-copying's training steps), MAMBA_CHECKPOINT
# (pretrained-generate's checkpoint), NOTEBOOKS_SKIP_BUILD=1.
#
# Usage: notebooks/run.sh [notebooks/NAME.ipynb ...]   (default: all of them)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TSLAB_VERSION=1.0.22
TSLAB_DIR="$ROOT/node_modules/.cache/tslab"
TSLAB_BIN="$TSLAB_DIR/node_modules/.bin/tslab"
OUT="${NOTEBOOKS_OUT:-$(mktemp -d -t mamba-notebooks-XXXXXX)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

say() { printf 'notebooks: %s\n' "$*"; }

# 1. Jupyter (Debian's packages).
if ! jupyter nbconvert --version >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { say "jupyter-nbconvert is missing: run as root or install it (apt-get install jupyter-nbconvert jupyter-client)"; exit 1; }
    SUDO=sudo
  fi
  say "installing jupyter-nbconvert and jupyter-client (apt)"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends jupyter-nbconvert jupyter-client >/dev/null
fi
say "$(jupyter nbconvert --version | sed 's/^/nbconvert /')"

# 2. tslab (npm), outside the project's dependency tree.
if [ ! -x "$TSLAB_BIN" ]; then
  say "installing tslab@$TSLAB_VERSION into ${TSLAB_DIR#"$ROOT"/}"
  mkdir -p "$TSLAB_DIR"
  npm install --prefix "$TSLAB_DIR" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "tslab@$TSLAB_VERSION" >/dev/null
fi
if ! (cd "$TSLAB_DIR" && node -e "require('zeromq')") 2>/dev/null; then
  say "tslab's zeromq cannot load its native addon on $(node -p 'process.platform + "-" + process.arch'): it ships prebuilt"
  say "binaries for linux, darwin and win32 only; elsewhere it must be built from source (cmake + libzmq), not done here"
  exit 1
fi

# 3. The tslab kernel spec, in a JUPYTER_PATH of our own.
KERNELS="$(mktemp -d -t mamba-jupyter-XXXXXX)"
trap 'rm -rf "$KERNELS"' EXIT
mkdir -p "$KERNELS/kernels/tslab"
cat >"$KERNELS/kernels/tslab/kernel.json" <<EOF
{"argv": ["$TSLAB_BIN", "kernel", "--config-path", "{connection_file}"], "display_name": "TypeScript", "language": "typescript"}
EOF
export JUPYTER_PATH="$KERNELS${JUPYTER_PATH:+:$JUPYTER_PATH}"

# 4. The package the notebooks import.
if [ "${NOTEBOOKS_SKIP_BUILD:-}" != 1 ]; then
  say "npm run build"
  npm run build --silent >/dev/null
fi

# 5. Execute.
if [ $# -gt 0 ]; then notebooks=("$@"); else notebooks=(notebooks/*.ipynb); fi
failed=0
for nb in "${notebooks[@]}"; do
  log="$OUT/$(basename "$nb" .ipynb).log"
  start=$SECONDS
  # nbconvert starts the kernel in the notebook's folder, so the notebooks' relative paths (../dist) hold.
  if jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.kernel_name=tslab \
      --output-dir "$OUT" "$nb" >"$log" 2>&1; then
    say "ok    $nb ($((SECONDS - start)) s) → $OUT/$(basename "$nb")"
  else
    failed=1
    say "FAIL  $nb ($((SECONDS - start)) s); nbconvert said:"
    grep -v '^\s*$' "$log" | tail -n 25
    # tslab reports type errors on the cell's stderr, which a failed nbconvert does not save: run once more,
    # letting errors pass, and print what the cells wrote to stderr.
    debug="$OUT/debug"
    mkdir -p "$debug"
    jupyter nbconvert --to notebook --execute --allow-errors --ExecutePreprocessor.timeout=600 \
      --ExecutePreprocessor.kernel_name=tslab --output-dir "$debug" "$nb" >/dev/null 2>&1 || true
    node "$ROOT/notebooks/stderrOf.js" "$debug/$(basename "$nb")" || true
  fi
done
[ "$failed" = 0 ] && say "all notebooks ran without errors" || say "some notebooks failed"
exit "$failed"
