# The two commands: `make demo` and `make test`. Both create/refresh .venv and install jaxml first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup data demo test test-fast bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) data

# Debian data packages (Fashion-MNIST IDX files, the KJV text) and the small KG files (pykeen, --no-deps). Without root: built-in data only.
data:
	@JAXML_PYTHON=$(PY) bash scripts/install_data.sh

# The quick suite, one small experiment per family: a summary table at the end and RESULTS.md, records,
# plots and workdirs in a fresh runs/demo-<stamp>/ (printed last); tracked files are left alone
# (`jaxml reproduce --suite quick --record` re-records the quick rows of RESULTS.md).
demo: setup
	$(VENV)/bin/jaxml reproduce --suite quick

test: setup
	$(PY) -m pytest -q -n 2 --dist loadgroup --durations=25 tests

bench: setup
	$(VENV)/bin/jaxml bench cnn_fashion

clean:
	rm -rf runs .pytest_cache
