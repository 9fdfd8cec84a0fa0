#!/bin/sh
# Make (or complete) a virtual environment with everything the course needs, torch first.
#
#   requirements/install.sh VENV [PYTHON]     # what `make setup` runs (with pip)
#   COURSE_INSTALLER=uv requirements/install.sh VENV PYTHON   # make test-pythons (uv)
#
# Why torch first, from PyTorch's CPU wheel index: pip's default index gives Linux the CUDA
# build of torch (about 5 GB with its CUDA libraries); the CPU build is under 1 GB and is all
# the course needs. Where that index cannot be reached (a firewall, no network but PyPI), one
# short try (10 s timeout, no retries) and then the default index: the course works with the
# CUDA build too, only bigger. The last line says which build was installed and its size.
#
# Why uv for make test-pythons: the same steps and the same lock, but uv downloads in
# parallel and keeps a cache of wheels that works even where a proxy strips the HTTP caching
# headers that pip's cache relies on; so a second run does not fetch torch again.
set -eu

venv=$1
python=${2:-python3}
requirements=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$requirements")
lock="$requirements/lock.txt"
cpu_index=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
torch_pin=$(grep -E '^torch==' "$lock" | cut -d' ' -f1)
installer=${COURSE_INSTALLER:-pip}

test -x "$venv/bin/python" || "$python" -m venv "$venv"

case $installer in
  pip)
    install() { "$venv/bin/python" -m pip install -q "$@"; }
    try_cpu_index() { install --timeout 10 --retries 0 "$@"; } ;;
  uv)
    uv=${UV:-uv}
    # --compile-bytecode: pip compiles on install, uv does not; a sandboxed grading kernel
    # sees the environment read-only and would compile torch again at every start
    install() { "$uv" pip install -q --compile-bytecode --python "$venv/bin/python" "$@"; }
    try_cpu_index() { UV_HTTP_TIMEOUT=10 UV_HTTP_RETRIES=0 install "$@"; } ;;
  *)
    echo "COURSE_INSTALLER must be pip or uv, not '$installer'" >&2
    exit 2 ;;
esac

start=$(date +%s)
if ! try_cpu_index --no-deps --index-url "$cpu_index" "$torch_pin" >"$venv/torch-cpu-index.log" 2>&1
then
  echo "PyTorch's CPU wheel index could not be reached (tried $(( $(date +%s) - start )) s, see" \
       "$venv/torch-cpu-index.log): installing $torch_pin from the default index."
  install --no-deps "$torch_pin"
fi
# the rest, pinned by the lock; torch's own dependencies too (the CUDA build's are not locked)
install -c "$lock" -e "$repo[test]"
"$venv/bin/python" -m course_utils.environment
