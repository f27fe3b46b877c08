# Two commands on a fresh machine with python3 and make: `make demo`, `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test fuzz bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/newsmon -q demo

test: $(STAMP)
	$(VENV)/bin/ruff check pipeline tests bench
	$(PY) -m pytest -q -n 2

# the long fuzzing profile (2,500 generated hostile feeds); `make test` runs a few hundred
fuzz: $(STAMP)
	NEWSMON_FUZZ_PROFILE=fuzz $(PY) -m pytest -q tests/test_fuzz.py

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) data/demo.db* .pytest_cache
