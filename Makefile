# The two commands of the README: `make demo` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg

.PHONY: setup demo test test-unit test-notebooks book-check book prepare bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# local pin (this machine serves these two from disk); pyproject keeps ranges for Colab
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e ".[book,test]"
	$(PY) -m ipykernel install --user --name python3 >/dev/null
	touch $(STAMP)

setup: $(STAMP)

## make demo [METHOD=dipnet]: generate synthetic data, train the method (default DTN) if no
## checkpoint, segment the val set, score it
METHOD ?= dtn
demo: setup
	$(PY) -m vos_lib demo --method $(METHOD)

## make test: unit tests, the shared checkpoints/results (trained once, cached in data/),
## every notebook (nbval), the book build
test: setup test-unit prepare test-notebooks book-check

test-unit: setup
	$(PY) -m pytest tests -q -p no:cacheprovider

## make prepare: the synthetic data, every checkpoint and cached experiment (DTN, DIPNet)
prepare: setup
	$(PY) -m vos_lib prepare --quiet

test-notebooks: setup
	# two notebooks at a time (each kernel runs torch on one thread); a notebook stays on one worker
	$(PY) -m pytest --nbval-lax -q -p no:cacheprovider -n 2 --dist loadfile book/

book-check: setup
	rm -rf _build
	$(VENV)/bin/jupyter-book build . -W --keep-going --builder html
	$(PY) tests/check_rendered_book.py _build/html   # no raw Markdown table or raw math on a page

## make book: render the book (stored outputs, no execution) to _build/html
book: setup
	rm -rf _build
	$(VENV)/bin/jupyter-book build . --builder html
	@echo "open _build/html/index.html"

bench: setup
	$(PY) benchmarks/bench_evaluate.py
	$(PY) benchmarks/bench_dtn.py

clean:
	rm -rf _build
