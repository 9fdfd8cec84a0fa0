#!/bin/sh
# Make (or complete) a virtual environment with everything the course needs, torch first.
#
#   requirements/install.sh VENV [PYTHON]     # what `make setup` and `make test-pythons` run
#
# Why torch first, from PyTorch's CPU wheel index: pip's default index gives Linux the CUDA
# build of torch (about 5 GB with its CUDA libraries); the CPU build is under 1 GB and is all
# the course needs. Where that index cannot be reached (a firewall, no network but PyPI), one
# short try (10 s timeout, no retries) and then the default index: the course works with the
# CUDA build too, only bigger. The last line says which build was installed and its size.
set -eu

venv=$1
python=${2:-python3}
requirements=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$requirements")
lock="$requirements/lock.txt"
cpu_index=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
torch_pin=$(grep -E '^torch==' "$lock" | cut -d' ' -f1)

test -x "$venv/bin/python" || "$python" -m venv "$venv"
pip="$venv/bin/python -m pip"

start=$(date +%s)
if $pip install -q --no-deps --index-url "$cpu_index" --timeout 10 --retries 0 "$torch_pin" \
    >"$venv/torch-cpu-index.log" 2>&1; then
  :
else
  echo "PyTorch's CPU wheel index could not be reached (tried $(( $(date +%s) - start )) s, see" \
       "$venv/torch-cpu-index.log): installing $torch_pin from the default index."
  $pip install -q --no-deps "$torch_pin"
fi
# the rest, pinned by the lock; torch's own dependencies too (the CUDA build's are not locked)
$pip install -q -c "$lock" -e "$repo[test]"
"$venv/bin/python" -m course_utils.environment
