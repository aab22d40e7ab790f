# Two commands do all the set-up on a machine with only python3 and make:
#   make tour   -- build a virtual environment with rnnlens and run the tour
#   make test   -- also install the test tools and the Keras oracle, then run every test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
# The recurrent layers' compiled time loops (src/rnnlens/cells/_fused.c, loaded with ctypes;
# no Python headers). Without a C compiler the build is skipped and rnnlens runs its NumPy
# loop, with the same numbers (rnnlens.backend.kernel() says which one runs).
ifeq ($(origin CC),default)
CC     := gcc
endif
KERNEL := src/rnnlens/cells/_fused.so

.PHONY: tour test install test-deps fixtures bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -e .
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed requirements-test.txt
	$(PIP) install -r requirements-test.txt
	# tf-keras (Keras 2, the oracle for legacy files) on the tensorflow-cpu above:
	# --no-deps, or pip would pull the full tensorflow wheel.
	$(PIP) install --no-deps tf-keras==2.21.0
	# Browser tests drive Debian's Chromium (not playwright's download); plot_model, Graphviz.
	dpkg -s chromium fonts-dejavu-core graphviz >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  chromium fonts-dejavu-core graphviz; }
	touch $@

$(KERNEL): src/rnnlens/cells/_fused.c $(wildcard src/rnnlens/cells/*.h)
	$(CC) -O3 -ffp-contract=off -shared -fPIC -pthread -o $@.tmp $< -lm && mv $@.tmp $@ \
	  || { rm -f $@.tmp; echo "rnnlens: could not compile $< with $(CC);" \
	       "the recurrent layers will use the NumPy loop (same numbers, slower)"; }

install: $(VENV)/.installed $(KERNEL)

test-deps: $(VENV)/.test-installed

tour: $(VENV)/.installed $(KERNEL)
	$(VENV)/bin/rnnlens tour $(ARGS)

test: $(VENV)/.test-installed $(KERNEL)
	$(PY) -m pytest -q $(PYTEST_ARGS)

fixtures: $(VENV)/.test-installed
	$(PY) tests/make_golden.py
	$(PY) tests/make_golden_models.py

bench: $(VENV)/.test-installed $(KERNEL)
	$(PY) benchmarks/bench_forward.py $(ARGS)
	$(PY) benchmarks/bench_train.py $(ARGS)
	$(PY) benchmarks/bench_layers.py $(ARGS)
	$(PY) benchmarks/bench_explain.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build src/*.egg-info $(KERNEL)
