# The two set-up commands of README.md are `make demo` and `make test`; both install what
# they need into .venv on first use (scripts/setup.sh), so a fresh clone needs nothing else.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-quick check fixtures bench clean

$(VENV)/.installed: pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	@touch $@

$(VENV)/.dev-installed: pyproject.toml scripts/setup.sh
	bash scripts/setup.sh --dev
	@touch $@

## demo: install yuyin and transcribe the bundled English and Mandarin samples
demo: $(VENV)/.installed
	$(BIN)/yuyin transcribe tests/data/en.wav --output-dir demo-out
	$(BIN)/yuyin transcribe tests/data/zh.wav --language zh-TW --output-dir demo-out

## test: lint, format, types, layering, then every test with coverage (what CI runs)
test: $(VENV)/.dev-installed
	bash scripts/check.sh

## test-quick: the unit tests only (no model, well under a minute)
test-quick: $(VENV)/.dev-installed
	$(BIN)/pytest -m unit -q -p no:cacheprovider

## fixtures: regenerate the generated-speech fixtures in tests/data (needs espeak-ng, sox, ffmpeg)
fixtures:
	bash tests/data/make_fixtures.sh

## bench: offline transcription overhead vs plain faster-whisper, sequential vs batched
bench: $(VENV)/.installed
	$(BIN)/python bench/transcribe.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
