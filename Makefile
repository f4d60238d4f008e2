# Two entry points, each doing its own set-up on a fresh machine:
#   make suites BOARD=m0plus   the user-facing suites on one board (emulated by default)
#   make test                  the harness's own tests, plus one quick end-to-end suite run
# Set-up is incremental: apt runs only when a tool is missing, pip only when pyproject.toml changed.

BOARD ?= m4
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_GET ?= $(SUDO) apt-get

.PHONY: setup system venv suites lint test bench clean

setup: system venv

# Every system tool the README's commands call, installed from Debian/Ubuntu packages only when it
# is missing: the Arm cross toolchain with newlib-nano, QEMU, the host C compiler (the generator's
# tests and `hil codegen` users build generated C on the host) and python3-venv.
# --no-install-recommends avoids ~1.5 GB of extras.
system:
	@missing=""; \
	command -v arm-none-eabi-gcc >/dev/null && [ -f "$$(arm-none-eabi-gcc -print-file-name=libc_nano.a)" ] \
	  || missing="$$missing gcc-arm-none-eabi libnewlib-arm-none-eabi"; \
	command -v qemu-system-arm >/dev/null || missing="$$missing qemu-system-arm"; \
	{ command -v cc >/dev/null && printf '#include <stdio.h>\nint main(void){return 0;}\n' \
	    | cc -x c - -o /dev/null 2>/dev/null; } || missing="$$missing gcc libc6-dev"; \
	$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(APT_GET) update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[ml,dev]'
	touch $(STAMP)

suites: setup
	$(PY) -m pytest suites/ --board=$(BOARD) $(PYTEST_ARGS)

# Lint and type checks (configured in pyproject.toml: [tool.ruff], [tool.mypy]); `make test` runs them first.
lint: venv
	$(PY) -m ruff check harness tests benchmarks suites examples
	$(PY) -m mypy

# The harness's own tests, then one quick end-to-end suite run so a broken main path fails CI.
test: setup lint
	$(PY) -m pytest tests/ $(PYTEST_ARGS)
	$(PY) -m pytest suites/har --board=m4 $(PYTEST_ARGS)

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf .cache build
