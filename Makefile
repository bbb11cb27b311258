# Two commands on a fresh machine: `make run` and `make test`.
#
# torch is most of the set-up: on Linux x86_64 pip takes PyPI's CUDA build (about 2.8 GB to
# download, 5.3 GB installed). Without an NVIDIA GPU the CPU-only build is enough (about
# 0.2 GB to download, 0.7 GB installed):
#   make run TORCH_INDEX=https://download.pytorch.org/whl/cpu
# A torch already in $(VENV) (or one you install there first) is kept as it is.
PYTHON      ?= python3
VENV        ?= .venv
TORCH_INDEX ?=
PY           = $(VENV)/bin/python
STAMP        = $(VENV)/.installed
UNAME        = $(shell uname -sm 2>/dev/null)

ifeq ($(TORCH_INDEX),)
  ifeq ($(UNAME),Linux x86_64)
    TORCH_NOTE = torch's CUDA build from PyPI: about 2.8 GB to download, 5.3 GB on disk (no GPU? \
                 make run TORCH_INDEX=https://download.pytorch.org/whl/cpu takes the CPU-only one, 0.7 GB)
  else
    TORCH_NOTE = torch from PyPI: about 0.1-0.3 GB to download
  endif
else
  TORCH_NOTE = torch from $(TORCH_INDEX)
endif

.PHONY: run test install screenshots bench clean

$(STAMP): pyproject.toml
	@echo "make: creating $(VENV) with $$($(PYTHON) --version 2>&1)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
ifneq ($(TORCH_INDEX),)
	@echo "make: installing $(TORCH_NOTE)"
	$(PY) -m pip install --index-url $(TORCH_INDEX) 'torch>=2.4'
endif
	@if $(PY) -c "import torch" 2>/dev/null; then \
	  echo "make: installing cnn-tui and its test tools into $(VENV) (its torch $$($(PY) -c 'import torch; print(torch.__version__)') is kept)"; \
	else echo "make: installing cnn-tui and its test tools into $(VENV); $(TORCH_NOTE)."; fi
	@echo "make: with the rest (textual, numpy, onnx, tensorboard, ...) expect a few minutes; pip lists each download"
	$(PY) -m pip install -e '.[test]'
	# An editable install leaves our modules uncompiled; where PYTHONDONTWRITEBYTECODE is set
	# every start would compile them again (about 0.1 s of the first frame).
	$(PY) -m compileall -q cnn_tui
	@echo "make: $(VENV) ready ($$(du -sh $(VENV) 2>/dev/null | cut -f1) on disk)"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/cnn-tui $(ARGS)

# First MNIST: found where the product looks (or ../shared/data), else fetched once into the
# user cache with `cnn-tui data fetch`; when it cannot be had the run stops here, in one line.
test: $(STAMP)
	$(PY) -m ruff check --no-cache cnn_tui tests benchmarks screenshots
	@$(PY) tests/mnist_for_tests.py
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

screenshots: $(STAMP)
	$(PY) screenshots/make_screenshots.py

bench: $(STAMP)
	$(PY) -m pip install -e '.[bench]'
	$(PY) benchmarks/train_speed.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
