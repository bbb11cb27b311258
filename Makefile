# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: run test install screenshots bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	# An editable install leaves our modules uncompiled; where PYTHONDONTWRITEBYTECODE is set
	# every start would compile them again (about 0.1 s of the first frame).
	$(PY) -m compileall -q cnn_tui
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/cnn-tui $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

screenshots: $(STAMP)
	$(PY) screenshots/make_screenshots.py

bench: $(STAMP)
	$(PY) benchmarks/train_speed.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
