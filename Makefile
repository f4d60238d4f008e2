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
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm

.PHONY: setup system venv suites lint test bench clean

setup: system venv

# Cross toolchain (with newlib-nano) and QEMU from Debian; --no-install-recommends avoids ~1.5 GB of extras.
system:
	@if ! command -v arm-none-eabi-gcc >/dev/null || ! command -v qemu-system-arm >/dev/null \
	   || [ ! -f "$$(arm-none-eabi-gcc -print-file-name=libc_nano.a 2>/dev/null)" ]; then \
	  echo "installing $(APT_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
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
	$(PY) -m ruff check harness tests benchmarks suites
	$(PY) -m mypy

# The harness's own tests, then one quick end-to-end suite run so a broken main path fails CI.
test: setup lint
	$(PY) -m pytest tests/ $(PYTEST_ARGS)
	$(PY) -m pytest suites/har --board=m4 $(PYTEST_ARGS)

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf .cache build
