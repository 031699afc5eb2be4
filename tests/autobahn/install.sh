#!/usr/bin/env bash
# Install Autobahn|Testsuite (wstest) into tests/autobahn/.venv (Python 2.7).
#
# Idempotent: when the venv exists, was built from the current pin files and
# imports the suite, this exits at once. Otherwise it (re)builds the venv:
#   1. find a Python 2.7 interpreter (AUTOBAHN_PYTHON27, then pyenv's
#      versions/2.7*, then python2.7 on PATH);
#   2. install virtualenv (requirements-tools.txt) with the host's python3
#      into tests/autobahn/.tools (Python 2.7 has no `venv` module);
#   3. create the venv with virtualenv's embedded seed wheels (no download);
#   4. pip install the hash-pinned requirements.txt into it.
#
# Environment:
#   AUTOBAHN_PYTHON27         explicit path to a python2.7 interpreter
#   AUTOBAHN_PYTHON3          host python3 (>= 3.7) used to run virtualenv
#                             (default: python3 on PATH)
#   AUTOBAHN_INSTALL_TIMEOUT  seconds allowed for each pip step (default 900)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
TOOLS="$HERE/.tools"
STAMP="$VENV/.autobahn-installed"
STEP_TIMEOUT="${AUTOBAHN_INSTALL_TIMEOUT:-900}"

log() { printf 'install.sh: %s\n' "$*" >&2; }
die() { printf 'install.sh: ERROR: %s\n' "$*" >&2; exit 1; }

# Fingerprint of everything that defines the environment: a change to any pin
# file forces a rebuild.
fingerprint() {
    cat "$HERE/requirements.txt" "$HERE/requirements-tools.txt" "$HERE/install.sh" \
        | sha256sum | cut -d' ' -f1
}

installed_ok() {
    [[ -x "$VENV/bin/python" && -x "$VENV/bin/wstest" && -f "$STAMP" ]] || return 1
    [[ "$(cat "$STAMP")" == "$(fingerprint)" ]] || return 1
    timeout 60 "$VENV/bin/python" -c \
        'import autobahntestsuite, autobahn.twisted.websocket, twisted.internet.reactor' \
        >/dev/null 2>&1
}

if installed_ok; then
    exit 0
fi

# --- 1. Python 2.7 ----------------------------------------------------------
is_py27() {
    [[ -n "$1" && -x "$1" ]] || return 1
    timeout 30 "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (2, 7) else 1)' \
        >/dev/null 2>&1
}

looked=()
PY27=""
if [[ -n "${AUTOBAHN_PYTHON27:-}" ]]; then
    looked+=("AUTOBAHN_PYTHON27=$AUTOBAHN_PYTHON27")
    is_py27 "$AUTOBAHN_PYTHON27" && PY27="$AUTOBAHN_PYTHON27"
fi
if [[ -z "$PY27" ]]; then
    pyenv_root=""
    if command -v pyenv >/dev/null 2>&1; then
        pyenv_root="$(pyenv root 2>/dev/null || true)"
    fi
    pyenv_root="${pyenv_root:-${PYENV_ROOT:-$HOME/.pyenv}}"
    looked+=("$pyenv_root/versions/2.7*/bin/python2.7")
    # Newest 2.7.x first.
    while IFS= read -r cand; do
        if is_py27 "$cand"; then PY27="$cand"; break; fi
    done < <(ls -d "$pyenv_root"/versions/2.7*/bin/python2.7 2>/dev/null | sort -rV)
fi
if [[ -z "$PY27" ]]; then
    looked+=("python2.7 on PATH")
    # A pyenv shim on PATH only works if 2.7 is the active version, so the
    # candidate is verified by running it, not just by finding it.
    if cand="$(command -v python2.7 2>/dev/null)" && is_py27 "$cand"; then
        PY27="$cand"
    fi
fi
if [[ -z "$PY27" ]]; then
    msg="no working Python 2.7 interpreter found. Looked at:"
    for l in "${looked[@]}"; do msg+=$'\n'"  - $l"; done
    msg+=$'\n'"Install one (e.g. 'pyenv install 2.7.18') or set AUTOBAHN_PYTHON27=/path/to/python2.7."
    die "$msg"
fi
log "using Python 2.7: $PY27"

# --- 2. virtualenv (host python3) -------------------------------------------
PY3="${AUTOBAHN_PYTHON3:-python3}"
command -v "$PY3" >/dev/null 2>&1 || die "host python3 ('$PY3') not found; it is needed to run virtualenv"
"$PY3" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 7) else 1)' \
    || die "host python3 ('$PY3') is older than 3.7"

tools_fp="$(sha256sum "$HERE/requirements-tools.txt" | cut -d' ' -f1)"
if [[ ! -f "$TOOLS/.stamp" || "$(cat "$TOOLS/.stamp")" != "$tools_fp" ]]; then
    log "installing virtualenv into $TOOLS"
    rm -rf "$TOOLS"
    mkdir -p "$TOOLS"
    if ! timeout "$STEP_TIMEOUT" "$PY3" -m pip install --disable-pip-version-check \
            --no-input --require-hashes --no-deps --target "$TOOLS/lib" \
            -r "$HERE/requirements-tools.txt"; then
        rm -rf "$TOOLS"
        die "pip step 1/2 failed: could not install virtualenv from requirements-tools.txt with $PY3 (see pip output above)"
    fi
    echo "$tools_fp" > "$TOOLS/.stamp"
fi

# --- 3. the venv ------------------------------------------------------------
log "creating virtualenv $VENV"
rm -rf "$VENV"
if ! PYTHONPATH="$TOOLS/lib" VIRTUALENV_OVERRIDE_APP_DATA="$TOOLS/app-data" \
        timeout "$STEP_TIMEOUT" "$PY3" -m virtualenv --no-download --no-periodic-update \
        --python "$PY27" "$VENV" >&2; then
    rm -rf "$VENV"
    die "virtualenv could not create a Python 2.7 environment at $VENV with $PY27"
fi

# --- 4. the suite -----------------------------------------------------------
log "installing pinned requirements into $VENV (this takes ~20 s)"
# --no-build-isolation: build the sdists with the venv's pinned setuptools and
# wheel rather than downloading unpinned build dependencies.
if ! timeout "$STEP_TIMEOUT" "$VENV/bin/python" -m pip install --disable-pip-version-check \
        --no-input --no-python-version-warning --progress-bar off \
        --require-hashes --no-build-isolation -r "$HERE/requirements.txt"; then
    rm -rf "$VENV"
    die "pip step 2/2 failed: could not install requirements.txt into the Python 2.7 venv (see pip output above; the venv was removed)"
fi

if ! timeout 60 "$VENV/bin/wstest" --autobahnversion >&2; then
    rm -rf "$VENV"
    die "wstest was installed but does not run; the venv was removed"
fi
fingerprint > "$STAMP"
log "done: $VENV/bin/wstest"
