#!/usr/bin/env bash
# setup-peers.sh - the Python environment of the estimation validation
# (bench/estimate/validate.py): NannyML, whose wheel bundles the real data
# sets the validation runs on and whose CBPE is the peer it is compared with.
#
# NannyML pins older versions of pandas, NumPy and scikit-learn than the test
# oracles in .venv, so it gets its own environment, .venv-peers (gitignored).
# Idempotent: a second run only checks. Not part of the tests.
# Usage: bench/estimate/setup-peers.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=.venv-peers
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import nannyml, statsmodels" 2>/dev/null; then
  echo "setup-peers: installing nannyml into $venv"
  # nannyml imports statsmodels (its plots) without declaring it
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "nannyml==0.13.1" statsmodels
fi
"$venv/bin/python" -c "import nannyml, numpy, pandas, sklearn; print('setup-peers: nannyml', nannyml.__version__, 'numpy', numpy.__version__, 'pandas', pandas.__version__, 'scikit-learn', sklearn.__version__)"
