#!/usr/bin/env bash
# Print the path of a Python 3.12 interpreter: $PYTHON, else python3.12 on PATH, else
# pyenv's newest 3.12. Exit 1, saying so, when there is none. (A pyenv shim on PATH that
# has no 3.12 behind it does not count: each candidate must run.)
set -euo pipefail
is_312() { [ -n "$1" ] && "$1" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; }
for candidate in "${PYTHON:-}" "$(command -v python3.12 || true)"; do
  if is_312 "$candidate"; then echo "$candidate"; exit 0; fi
done
if command -v pyenv >/dev/null 2>&1; then
  version=$(pyenv versions --bare | grep -E '^3\.12(\.[0-9]+)?$' | sort -V | tail -n 1 || true)
  candidate=${version:+$(pyenv prefix "$version")/bin/python3.12}
  if is_312 "$candidate"; then echo "$candidate"; exit 0; fi
fi
echo "coopbench needs Python 3.12: install it (pyenv install 3.12), or set PYTHON=/path/to/python3.12" >&2
exit 1
