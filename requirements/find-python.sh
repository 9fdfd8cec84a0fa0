#!/bin/sh
# Print the path of a Python X.Y interpreter: pythonX.Y on PATH if it runs, else pyenv's.
#   requirements/find-python.sh 3.10
set -eu
version=$1
if command -v "python$version" >/dev/null 2>&1 && "python$version" -c "" 2>/dev/null; then
  command -v "python$version"
  exit 0
fi
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for candidate in "$root"/versions/"$version".*/bin/python"$version"; do
  if [ -x "$candidate" ]; then
    echo "$candidate"
    exit 0
  fi
done
echo "no Python $version found (on PATH or in pyenv's versions): install it, or run" \
     "make test-pythons TEST_PYTHONS='...' with the versions you have" >&2
exit 1
