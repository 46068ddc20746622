# mirkit: two commands on a fresh machine with Python 3.11 and pip.
#   make lab    set everything up (once), then open the course in JupyterLab
#   make test   set everything up (once), then run the course check and the whole test suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-stamp
PORT ?= 8888
export KERAS_BACKEND ?= tensorflow
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONHASHSEED ?= 0

.PHONY: setup lab test verify release bench lock clean help
help:
	@echo "make lab | make test | make verify | make release | make bench | make setup | make lock | make clean"

setup: $(STAMP)
$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "mirkit needs Python 3.11 (found %d.%d): install it, or run make PYTHON=/path/to/python3.11" % sys.version_info[:2])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	# tinysoundfont declares pyaudio for live playback only; we render offline, so no pyaudio (and no PortAudio headers)
	$(BIN)/python -m pip install --quiet --no-deps tinysoundfont==0.3.7
	# requirements.lock already holds every pinned dependency of the course and of both extras
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e '.[instructor,test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (mirkit)" >/dev/null
	# librosa compiles its numba gufuncs on import and caches them next to its code; processes that
	# write that cache at the same time can pair files from two compilations and segfault later
	# (numba issue 10128): one process writes it here, before lessons and tests run in parallel
	find $(VENV) -path '*librosa*' \( -name '*.nbi' -o -name '*.nbc' \) -delete
	$(BIN)/python -c 'import librosa.beat, librosa.core.audio, librosa.core.pitch, librosa.util.utils'
	touch $(STAMP)

# the student set-up: no instructor tools, Validate with the course config (autograde/student/README.md);
# LAB_DIR=folder serves another copy of the lessons
lab: setup
	JUPYTER_CONFIG_PATH=$(CURDIR)/autograde/student$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH} \
	$(BIN)/jupyter lab --notebook-dir=$(or $(LAB_DIR),lessons) --port=$(PORT) $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

verify: setup
	$(BIN)/autograde verify

test: setup
	$(BIN)/autograde verify
	$(BIN)/python -m pytest -n 2 --dist loadgroup tests

release: setup
	$(BIN)/autograde release

bench: setup
	$(BIN)/python -m bench

lock:
	rm -rf /tmp/mirkit-lock && $(PYTHON) -m venv /tmp/mirkit-lock
	/tmp/mirkit-lock/bin/pip install --quiet . && /tmp/mirkit-lock/bin/pip uninstall --quiet -y mirkit
	@echo "review, then copy: /tmp/mirkit-lock/bin/pip freeze"

clean:
	rm -rf $(VENV) build *.egg-info
