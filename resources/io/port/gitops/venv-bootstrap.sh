# port-gitops: the agent-side Python environment for the shipped port-gitops.pyz.
#
# usage: sh venv-bootstrap.sh PYTHON LOCKFILE
#
# Prints (on stdout, nothing else) the interpreter of a virtual environment holding exactly the
# packages pinned in LOCKFILE. The environment is built once per lock and Python version, in
#   ${PORT_GITOPS_CACHE_DIR:-$HOME/.cache/port-gitops}/venv-<lockhash>-py<X.Y>
# where <lockhash> is the first 16 hex digits of the lock's SHA-256. (port-gitops.pyz, run with this
# interpreter, unpacks and compiles itself once into the environment: see python/build_resources.py.) It is built in a temporary
# directory beside it and renamed into place, so concurrent builds never see a half-built one; the
# loser of a race discards its copy and uses the winner's. pip runs with the agent's own settings
# (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, pip.conf, HTTPS_PROXY/NO_PROXY, PIP_CERT).
# Exit 2: the interpreter is missing, too old or lacks venv; exit 1: the environment could not be built.
set -eu

python=${1:?usage: venv-bootstrap.sh PYTHON LOCKFILE}
lock=${2:?usage: venv-bootstrap.sh PYTHON LOCKFILE}

say() { echo "port-gitops: $*" >&2; }

if ! command -v "$python" >/dev/null 2>&1; then
    say "Python interpreter '$python' not found on this agent: install python3 (>= 3.9, with venv) or give the step 'python:' or 'command:'"
    exit 2
fi

# One interpreter call checks the version against the lock's floor and prints "<lockhash> <X.Y>".
# A Python 2 or ancient Python 3 still has to parse this, hence the old-style formatting.
key=$("$python" - "$lock" <<'EOF'
import hashlib, sys
data = open(sys.argv[1], "rb").read()
floor = (3, 9)
for line in data.decode("utf-8").splitlines():
    if line.startswith("# requires-python: >="):
        floor = tuple(int(part) for part in line.split(">=", 1)[1].strip().split("."))
if tuple(sys.version_info[:3]) < floor:
    sys.stderr.write("port-gitops: %s is Python %s; the pinned dependencies need Python >= %s: "
                     "give the step a newer 'python:' or a pre-installed 'command:'\n"
                     % (sys.executable, ".".join(map(str, sys.version_info[:3])), ".".join(map(str, floor))))
    sys.exit(2)
try:
    import ensurepip, venv  # noqa: F401 - Debian and Ubuntu split these into python3-venv
except ImportError:
    sys.stderr.write("port-gitops: %s cannot create virtual environments: install python3-venv\n" % sys.executable)
    sys.exit(2)
print("%s %d.%d" % (hashlib.sha256(data).hexdigest()[:16], sys.version_info[0], sys.version_info[1]))
EOF
) || exit 2

cache=${PORT_GITOPS_CACHE_DIR:-${HOME:?HOME is not set: set PORT_GITOPS_CACHE_DIR}/.cache/port-gitops}
venv="$cache/venv-${key% *}-py${key#* }"

usable() { [ -x "$1/bin/python" ] && "$1/bin/python" -c '' 2>/dev/null; }

if usable "$venv"; then
    say "using the Python environment $venv"
    echo "$venv/bin/python"
    exit 0
fi

mkdir -p "$cache"
if [ -e "$venv" ] && ! usable "$venv"; then
    # A broken leftover (e.g. its base interpreter was removed): move it aside, then rebuild.
    aside=$(mktemp -d "$venv.broken.XXXXXX")
    mv "$venv" "$aside/" 2>/dev/null || true
    rm -rf "$aside"
fi

tmp=$(mktemp -d "$venv.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
say "creating the Python environment $venv (once per requirements lock)"
"$python" -m venv "$tmp" >&2
# The environment is used only through bin/python, which stays valid after the rename (scripts
# such as bin/pip keep the temporary path in their shebang and are not used).
if ! "$tmp/bin/python" -m pip install --disable-pip-version-check --no-input --quiet \
        --requirement "$lock" >&2; then
    say "could not install the pinned dependencies from $lock: check the agent's index settings (PIP_INDEX_URL, proxies)"
    exit 1
fi

# rename(2) onto an existing directory fails instead of nesting, unlike mv: the first build wins.
if ! "$python" -c 'import os, sys; os.rename(sys.argv[1], sys.argv[2])' "$tmp" "$venv" 2>/dev/null; then
    usable "$venv" || { say "could not move the environment into $venv"; exit 1; }
    say "another build created $venv first; using it"
fi
echo "$venv/bin/python"
