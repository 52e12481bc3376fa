# Two commands on a fresh machine: `make demo` (the main job on the embedded default) and
# `make test`. Both create the virtual environment on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch/torchvision are pinned to the releases this machine installs from local disk.
TORCH_PIN ?= torch==2.14.1 torchvision==0.29.1
DEPS_HASH := $(shell cat pyproject.toml Makefile | sha1sum | cut -c1-12)
STAMP := $(VENV)/.deps-$(DEPS_HASH)
DEMO_OUT ?= demo_out
DEMO_ARGS ?=
export NO_ALBUMENTATIONS_UPDATE := 1

.PHONY: install test demo bench clean

$(STAMP):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(TORCH_PIN)
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.deps-* && touch $@

# (Re)install the package itself when this checkout is not the one the venv points at.
install: $(STAMP)
	@$(BIN)/python -c "import freqaug, os, sys; sys.exit(os.path.dirname(os.path.dirname(os.path.abspath(freqaug.__file__))) != os.getcwd())" 2>/dev/null \
		|| $(BIN)/python -m pip install -q --no-deps -e .

test: install
	$(BIN)/python -m pytest

demo: install
	$(BIN)/python -m freqaug demo --out $(DEMO_OUT) $(DEMO_ARGS)

bench: install
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/bench_bands.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache
