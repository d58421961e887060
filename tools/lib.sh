# Shell helpers shared by the tools/ scripts (sourced, not run).

# Prints the first Python 3 that can import numpy: the first python3 on PATH
# may be a build without it (pyenv, venv), Debian's is at /usr/bin/python3.
npzfs_python() {
  local py
  for py in "${NPZFS_PYTHON:-}" "$(command -v python3 || true)" /usr/bin/python3; do
    if [[ -n "$py" && -x "$py" ]] && "$py" -c "import numpy" 2>/dev/null; then
      echo "$py"
      return 0
    fi
  done
  echo "no Python 3 with numpy found (apt-get install python3-numpy)" >&2
  return 1
}
