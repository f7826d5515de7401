# `make demo` runs the main job on the embedded default; `make test` runs the tests. Both create
# (or reuse) a virtual environment in .venv and install what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.itx-installed
DEMO_OUT ?= results/multilingual_parallel/demo
OPINIONS_OUT ?= results/opinion_groups/demo
MT_BENCH_X ?= ../shared/mt_bench_x

.PHONY: install demo demo-opinions demo-real smoke test test-fast bench clean

install: $(STAMP)

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: an unpinned torch resolves to a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The multilingual instruction-tuning study in miniature (polyglot world, 3 conditions, 1 seed).
demo: $(STAMP)
	$(PY) -m experiments.multilingual_parallel --preset=demo --out=$(DEMO_OUT)

# OpinionGPT's question in miniature (opinion world: base, pooled / tag / bank, every group's answers).
demo-opinions: $(STAMP)
	$(PY) -m experiments.opinion_groups --preset=demo --out=$(OPINIONS_OUT)

# Both studies on the real Gemma 3 270M base (about 75 minutes here); each prints its `itx serve` command.
demo-real: $(STAMP)
	$(PY) -m experiments.multilingual_parallel --preset=real --mt_bench_x=$(MT_BENCH_X)
	$(PY) -m experiments.opinion_groups --preset=real

smoke: $(STAMP)
	$(PY) -m itx.main --config=configs/smoke.py --workdir=runs/smoke

# The comparison page is tested in headless Chromium (Debian's chromium and chromium-driver).
test: $(STAMP)
	command -v chromedriver >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver)
	$(PY) -m pytest -q --durations=15 tests

# The suite without its slow, browser and multi-process tiers (pytest.ini names the markers).
test-fast: $(STAMP)
	$(PY) -m pytest -q --durations=10 -m "not slow and not browser and not multiprocess" tests

bench: $(STAMP)
	$(PY) benchmarks/train_throughput.py
	$(PY) benchmarks/serve_throughput.py
	$(PY) benchmarks/lora_throughput.py

clean:
	rm -rf $(VENV) runs results *.egg-info
