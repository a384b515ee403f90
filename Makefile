# netns.core: build, lint and test the collection.
#   make lab    build the bridge-and-NAT lab (playbooks/lab.yml) on THIS host; make lab-clean removes it
#   make test   everything CI runs (installs what it needs on a fresh Debian/Ubuntu machine)
#   make lint | sanity | unit | integration | reliability | molecule   one stage
# Integration tests run inside tests/sandbox.sh (a throw-away network + mount namespace): they never touch
# this machine's own network.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

ROOT        := $(CURDIR)
VENV        := $(ROOT)/.venv
BUILD       := $(ROOT)/.build
COLLECTIONS := $(BUILD)/collections
COLL_DIR    := $(COLLECTIONS)/ansible_collections/netns/core
# ansible-test resolves the physical working directory, so it runs on a copy of the tracked files
SANITY_DIR  := $(BUILD)/sanity/ansible_collections/netns/core
# A HOME of our own for ansible-test's caches (the offline pip bootstrap lives there), not the user's
TEST_HOME   := $(BUILD)/home
PIP_BOOT    := 24.2

# The Python of the venv: 3.11 from pyenv where present (this project's reference), else the system python3.
PYTHON ?= $(shell ls /root/.pyenv/versions/3.11.*/bin/python3 2>/dev/null | tail -n 1 || true)
ifeq ($(PYTHON),)
PYTHON := python3
endif

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_NOCOLOR := 1
export ANSIBLE_FORCE_COLOR := 0
export PATH := $(VENV)/bin:$(PATH)

.PHONY: test deps venv collection lint ruff ansible-lint sanity unit integration reliability molecule lab lab-clean graph clean bench bench-deps bench-report

test: deps venv collection lint sanity unit integration reliability molecule
	@echo "make test: all stages passed"

# System packages, only where missing: ip (iproute2), iptables, ping, unshare (util-linux), shellcheck (for
# ansible-test sanity), dot (graphviz, for make graph), venv support.
deps:
	@missing=""; \
	command -v ip >/dev/null || missing="$$missing iproute2"; \
	command -v iptables >/dev/null || missing="$$missing iptables"; \
	command -v ping >/dev/null || missing="$$missing iputils-ping"; \
	command -v unshare >/dev/null || missing="$$missing util-linux"; \
	command -v shellcheck >/dev/null || missing="$$missing shellcheck"; \
	command -v dot >/dev/null || missing="$$missing graphviz"; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing with apt:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.stamp

$(VENV)/.stamp: requirements.txt requirements-dev.txt
	@[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

collection:
	@mkdir -p $(dir $(COLL_DIR))
	@ln -sfn $(ROOT) $(COLL_DIR)

lint: ruff ansible-lint

ruff: venv
	ruff check .
	ruff format --check --diff plugins tests || { echo "run: .venv/bin/ruff format plugins tests"; exit 1; }

ansible-lint: venv collection
	ansible-lint --offline

sanity: venv
	@rm -rf $(SANITY_DIR) && mkdir -p $(SANITY_DIR) $(TEST_HOME)/.ansible/test/cache
	@git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t $(SANITY_DIR)
	@cache=$(TEST_HOME)/.ansible/test/cache; \
	if ! ls $$cache/pip-$(PIP_BOOT)-*.whl >/dev/null 2>&1; then \
	  $(VENV)/bin/python -m pip download -q --disable-pip-version-check --no-deps -d $$cache pip==$(PIP_BOOT); \
	fi; \
	cp tests/tools/get_pip_offline.py $$cache/get_pip_$(subst .,_,$(PIP_BOOT)).py
	cd $(SANITY_DIR) && git init -q && git add -A && \
	  HOME=$(TEST_HOME) ansible-test sanity --python $$($(VENV)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
	  --color no --requirements

unit: venv collection
	PYTHONPATH=$(COLLECTIONS) python -m pytest tests/unit -q

# Test files run at once, each in a sandbox of its own (tests/tools/shards.py; NETNS_CORE_SHARDS of them, 3).
integration: deps venv collection
	$(VENV)/bin/python tests/tools/shards.py \
	  $(filter-out tests/integration/test_reliability_%,$(sort $(wildcard tests/integration/test_*.py)))

# The reliability suite (tests/integration/test_reliability_*.py, in the sandbox too): bad input, check-mode
# purity, SIGKILL at random points, foreign state, concurrency, no root. Its figures (for the README's
# Reliability section) land in .build/reliability/figures.json. The crash and concurrency files are timed, so
# they run alone, after the others.
reliability: deps venv collection
	@rm -f $(BUILD)/reliability/figures.json
	$(VENV)/bin/python tests/tools/shards.py --jobs 2 $(addprefix --alone tests/integration/test_reliability_,\
	  crash.py concurrency.py) $(sort $(wildcard tests/integration/test_reliability_*.py))
	@$(VENV)/bin/python tests/integration/reliability.py

# Molecule scenarios (extensions/molecule/*), each inside its own throw-away sandbox. The default driver keeps
# its state between runs (it never destroys), so each run starts with `molecule reset`.
molecule: deps venv collection
	@for scenario in $$(ls extensions/molecule | grep -v '^shared$$'); do \
	  echo "molecule test -s $$scenario (in the sandbox)"; \
	  tests/sandbox.sh env PATH="$(PATH)" ANSIBLE_COLLECTIONS_PATH="$(COLLECTIONS)" HOME="$(TEST_HOME)" \
	    ANSIBLE_ASYNC_DIR="$(TEST_HOME)/.ansible_async" \
	    bash -c "molecule reset -s $$scenario >/dev/null && molecule test -s $$scenario" || exit 1; \
	done

# The lab runs on this host for real (root needed: sudo is used when you are not root).
LAB_ARGS ?=
ANSIBLE_LAB = $(SUDO) env PATH="$(PATH)" ANSIBLE_COLLECTIONS_PATH="$(COLLECTIONS)" ANSIBLE_NOCOLOR=1 \
  ansible-playbook -i localhost, -c local -e ansible_python_interpreter=$(VENV)/bin/python

lab: deps venv collection
	$(ANSIBLE_LAB) playbooks/lab.yml $(LAB_ARGS)

lab-clean: venv collection
	$(ANSIBLE_LAB) playbooks/lab.yml -e lab_state=absent $(LAB_ARGS)

# A picture of this host's namespaces (after make lab, the lab): build/graph/netns.{dot,svg,png}
graph: deps venv collection
	$(ANSIBLE_LAB) playbooks/graph.yml -e graph_dir=$(ROOT)/build/graph $(LAB_ARGS)

# Speed against the alternatives (benchmarks/README.md); not part of make test. Each trial in its own sandbox.
#   make bench BENCH_ARGS="--runs 5 --slow-max-n 100 --slow-runs 2"
BENCH_ARGS ?=
BENCH_COLLECTIONS := $(BUILD)/bench-collections
bench: deps venv collection bench-deps
	$(VENV)/bin/python benchmarks/bench.py run $(BENCH_ARGS)

bench-report: venv bench-deps
	$(VENV)/bin/python benchmarks/bench.py report

# matplotlib for the plot; community.general (for its ip_netns module) from the `ansible` wheel on PyPI
bench-deps: $(BENCH_COLLECTIONS)/.stamp

$(BENCH_COLLECTIONS)/.stamp: benchmarks/requirements.txt $(VENV)/.stamp
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -r benchmarks/requirements.txt
	$(VENV)/bin/python -m pip download -q --disable-pip-version-check --no-deps -d $(BUILD)/wheels 'ansible>=12,<13'
	$(VENV)/bin/python benchmarks/unpack_collection.py "$$(ls $(BUILD)/wheels/ansible-12.*.whl | tail -n 1)" \
	  community.general $(BENCH_COLLECTIONS)
	@touch $@

clean:
	rm -rf $(BUILD) $(VENV) tests/output
