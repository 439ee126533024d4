# Frontdesk — set-up and everyday commands. Needs only Python 3.11+ and make.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := $(PYTHON) -m uv
endif
RUN := $(UV) run --frozen

.PHONY: install demo test lint format bench clean uv

uv:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		$(PYTHON) -m pip install --quiet --disable-pip-version-check uv

install: uv
	$(UV) sync --frozen

demo: install
	$(RUN) frontdesk demo

test: install
	$(RUN) pytest -q
	$(RUN) frontdesk eval run --suite smoke --provider simulator --out out/evals/smoke

lint: install
	$(RUN) ruff format --check .
	$(RUN) ruff check .
	$(RUN) pyright

format: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

clean:
	rm -rf .venv var .pytest_cache .ruff_cache
