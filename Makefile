# netns.core: build, lint and test the collection.
#   make lab    build the bridge-and-NAT lab (playbooks/lab.yml) on THIS host; make lab-clean removes it
#   make overlay-demo   the overlay (playbooks/overlay.yml) over 3 simulated hosts in a throw-away sandbox
#   make test   everything CI runs (installs what it needs on a fresh Debian/Ubuntu machine)
#   make lint | sanity | unit | integration | reliability | molecule   one stage
#   make sanity-oldest | unit-oldest | compile | docs-lint | changelog-lint | dist | dist-check | ee   release stages
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

# A Python of the first version listed that is here: pyenv's (/root/.pyenv/versions/X.Y.*), else pythonX.Y on
# PATH; python3 when none is.
find_python = $(shell for v in $(1); do p=$$(ls /root/.pyenv/versions/$$v.*/bin/python3 2>/dev/null | tail -n 1); \
  [ -n "$$p" ] || p=$$(command -v python$$v || true); [ -z "$$p" ] || { echo "$$p"; exit 0; }; done; echo python3)
# The Python of the main venv (the newest supported ansible-core, 2.21, needs a controller Python >= 3.12).
PYTHON ?= $(call find_python,3.13 3.12)

# $(call make_venv,DIR,PYTHON,REQUIREMENTS): a venv in DIR on that Python (made anew when DIR holds a venv of
# another Python version), with the pinned requirements; then DIR/.stamp.
define make_venv
	@want=$$($(2) -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	have=$$($(1)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true); \
	if [ "$$want" != "$$have" ]; then rm -rf $(1); echo "venv $(1) on Python $$want ($(2))"; $(2) -m venv $(1); fi
	$(1)/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(1)/bin/python -m pip install -q --disable-pip-version-check -r $(3)
	@touch $(1)/.stamp
endef

# X.Y of the Python of venv $(1)
venv_python_version = $$($(1)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# $(call run_sanity,VENV,DIR,ARGS): `ansible-test sanity ARGS` of that venv's ansible-core on a copy of the tracked
# files in DIR (ansible-test wants the collection path). Its pip bootstrap is offline: the pip version that this
# ansible-test asks for comes from PyPI into TEST_HOME's cache, with tests/tools/get_pip_offline.py as get-pip.
# $(BUILD)/pythons (python3.X links, made by `make pythons`) is on PATH for tests run on several Pythons.
define run_sanity
	@rm -rf $(2) && mkdir -p $(2) $(TEST_HOME)/.ansible/test/cache
	@git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t $(2)
	@cache=$(TEST_HOME)/.ansible/test/cache; \
	boot=$$($(1)/bin/python -c 'import sys, types; from ansible_test._internal.python_requirements import \
	  get_venv_packages as g; print(g(types.SimpleNamespace(version="%d.%d" % sys.version_info[:2]))["pip"])'); \
	if ! ls $$cache/pip-$$boot-*.whl >/dev/null 2>&1; then \
	  $(1)/bin/python -m pip download -q --disable-pip-version-check --no-deps -d $$cache pip==$$boot; \
	fi; \
	cp tests/tools/get_pip_offline.py $$cache/get_pip_$${boot//./_}.py
	cd $(2) && git init -q && git add -A && \
	  HOME=$(TEST_HOME) PATH="$(1)/bin:$(BUILD)/pythons:$$PATH" $(1)/bin/ansible-test sanity --color no $(3)
endef

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_NOCOLOR := 1
export ANSIBLE_FORCE_COLOR := 0
export PATH := $(VENV)/bin:$(PATH)

.PHONY: test deps venv collection lint ruff ansible-lint sanity unit integration reliability molecule lab lab-clean graph clean bench bench-deps bench-report overlay-demo

test: export ANSIBLE_LOG_PATH = $(TEST_LOG)
test: deps venv collection test-log lint sanity unit release-checks integration reliability molecule deprecations
	@echo "make test: all stages passed"

# System packages, only where missing: ip (iproute2), iptables, ping, unshare (util-linux), shellcheck (for
# ansible-test sanity), dot (graphviz, for make graph), venv support.
deps:
	@missing=""; \
	command -v ip >/dev/null || missing="$$missing iproute2"; \
	command -v iptables >/dev/null || missing="$$missing iptables"; \
	command -v nft >/dev/null || missing="$$missing nftables"; \
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
	$(call make_venv,$(VENV),$(PYTHON),requirements-dev.txt)

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
	$(call run_sanity,$(VENV),$(SANITY_DIR),--python $(call venv_python_version,$(VENV)) --requirements)

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
# its state between runs (it never destroys), so each run starts with `molecule reset`. The overlay scenario runs
# under tests/tools/simhosts.py: three simulated hosts for the length of the run, its inventory in SIMHOSTS_INVENTORY.
molecule: deps venv collection
	@for scenario in $$(ls extensions/molecule | grep -v '^shared$$'); do \
	  echo "molecule test -s $$scenario (in the sandbox)"; \
	  hosts=""; [ "$$scenario" != overlay ] || hosts="$(VENV)/bin/python tests/tools/simhosts.py run --hosts 3 --"; \
	  tests/sandbox.sh env PATH="$(PATH)" ANSIBLE_COLLECTIONS_PATH="$(COLLECTIONS)" HOME="$(TEST_HOME)" \
	    ANSIBLE_ASYNC_DIR="$(TEST_HOME)/.ansible_async" $$hosts \
	    bash -c "molecule reset -s $$scenario >/dev/null && molecule test -s $$scenario" || exit 1; \
	done

# ---------------------------------------------------------------------------------------------------------------
# Release stages (1.0.0): the oldest supported ansible-core, target Pythons, docs, changelog, the tarball, the
# execution environment, and no deprecation warning anywhere. `make test` runs them all.
# ---------------------------------------------------------------------------------------------------------------

# The oldest supported ansible-core (meta/runtime.yml: >=2.16.0) in its own venv, on a Python it supports as a
# controller (3.10-3.12): 3.11, else 3.12, else 3.10.
PYTHON_OLDEST ?= $(call find_python,3.11 3.12 3.10)
VENV_OLDEST   := $(BUILD)/venv-oldest
# The target Pythons the modules are compiled for (tests/config.yml: python_requires >=3.9).
TARGET_PYTHONS := 3.9 3.10 3.11 3.12 3.13
# The oldest target Python, with pyroute2: dist-check runs the installed modules there under the newest ansible-core.
PYTHON_TARGET ?= $(call find_python,3.9)
VENV_TARGET   := $(BUILD)/venv-target
VERSION       := $(shell sed -n 's/^version: *//p' galaxy.yml)
DIST          := $(BUILD)/dist
TARBALL       := $(DIST)/netns-core-$(VERSION).tar.gz
DIST_INSTALL  := $(BUILD)/dist-install
# Every ansible run of `make test` logs here; `make deprecations` fails on a deprecation warning in it.
TEST_LOG      := $(BUILD)/logs/ansible.log

.PHONY: venv-oldest venv-target sanity-oldest unit-oldest pythons compile docs-lint changelog-lint dist dist-check ee \
  test-log deprecations release-checks changelog

release-checks: sanity-oldest unit-oldest compile docs-lint changelog-lint dist-check ee

venv-oldest: $(VENV_OLDEST)/.stamp

venv-target: $(VENV_TARGET)/.stamp

$(VENV_TARGET)/.stamp: requirements.txt requirements-target.txt
	$(call make_venv,$(VENV_TARGET),$(PYTHON_TARGET),requirements-target.txt)

$(VENV_OLDEST)/.stamp: requirements.txt requirements-oldest.txt
	$(call make_venv,$(VENV_OLDEST),$(PYTHON_OLDEST),requirements-oldest.txt)

# ansible-test sanity of ansible-core 2.16 (the tests that version knows), and the unit tests on it.
sanity-oldest: venv-oldest
	$(call run_sanity,$(VENV_OLDEST),$(BUILD)/sanity-oldest/ansible_collections/netns/core,--python \
	  $(call venv_python_version,$(VENV_OLDEST)) --requirements)

unit-oldest: venv-oldest collection
	PYTHONPATH=$(COLLECTIONS) $(VENV_OLDEST)/bin/python -m pytest tests/unit -q

# python3.X links for every target Python found (pyenv's, else on PATH), for ansible-test
pythons:
	@mkdir -p $(BUILD)/pythons
	@for v in $(TARGET_PYTHONS); do \
	  p=$$(ls /root/.pyenv/versions/$$v.*/bin/python3 2>/dev/null | tail -n 1); \
	  [ -n "$$p" ] || p=$$(command -v python$$v || true); \
	  if [ -n "$$p" ]; then ln -sfn "$$p" $(BUILD)/pythons/python$$v; else echo "no Python $$v here"; fi; \
	done

# The compile test on every target Python (the modules run there), with the newest ansible-test.
compile: venv pythons
	$(call run_sanity,$(VENV),$(BUILD)/compile/ansible_collections/netns/core,--test compile)

# The docs as docs.ansible.com builds them: every reference (O(), M(), P(), RV()) resolves, every option is known.
# Not logged for `make deprecations`: its ansible-doc dump of every ansible.builtin plugin reports ansible-core's
# own deprecated plugins (apt_key, the tree callback, ...), which no netns.core task uses.
docs-lint: venv collection
	cd $(COLL_DIR) && env -u ANSIBLE_LOG_PATH antsibull-docs lint-collection-docs --plugin-docs .

# Once per release, after the version in galaxy.yml is raised: CHANGELOG.rst and changelogs/changelog.yaml from
# the fragments (which it then removes) and the new modules, plugins and roles (their version_added).
changelog: venv collection
	cd $(COLL_DIR) && antsibull-changelog release

changelog-lint: venv
	antsibull-changelog lint
	antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml

# The collection tarball, from galaxy.yml's manifest (an allow-list): collection content only, built from a copy
# of the files git knows (no cache or scratch file can slip in). galaxy.yml names no repository while the project
# has no public address; Galaxy requires one, so publish a tarball built with `make dist REPOSITORY=<its address>`.
REPOSITORY ?=
dist: venv
	@rm -rf $(DIST) $(DIST)-src && mkdir -p $(DIST) $(DIST)-src
	@git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t $(DIST)-src
	@[ -z "$(REPOSITORY)" ] || echo 'repository: $(REPOSITORY)' >> $(DIST)-src/galaxy.yml
	ansible-galaxy collection build --output-path $(DIST) $(DIST)-src
	$(VENV)/bin/python tests/release/check_dist.py $(TARBALL) $(VERSION)

# What Galaxy / Automation Hub run on an upload (galaxy-importer, with ansible-doc and ansible-lint, offline and
# without a container; tests/release/galaxy-importer.cfg), then the tarball installed with ansible-galaxy into a
# fresh path by the newest and by the oldest ansible-core, and one play against each installed copy (in the
# sandbox; the newest runs the modules on the oldest target Python, 3.9). Neither may say the collection does not
# support it.
# galaxy-importer requires a repository: it checks a tarball built the same way that names this checkout
# (file://...) as its repository, an address that is real, if not public.
dist-check: deps dist venv-oldest venv-target
	@$(MAKE) --no-print-directory dist DIST=$(BUILD)/dist-importer REPOSITORY=file://$(ROOT) >/dev/null
	cd $(BUILD)/dist-importer && GALAXY_IMPORTER_CONFIG=$(ROOT)/tests/release/galaxy-importer.cfg HOME=$(TEST_HOME) \
	  $(VENV)/bin/python -m galaxy_importer.main netns-core-$(VERSION).tar.gz 2>&1 | tee $(DIST)/importer.log
	@! grep -E '^(ERROR|WARNING)|Traceback' $(DIST)/importer.log || { echo "galaxy-importer complained"; exit 1; }
	@for which in newest oldest; do \
	  bin=$(VENV)/bin; target=$(VENV_TARGET)/bin/python; \
	  [ $$which = newest ] || { bin=$(VENV_OLDEST)/bin; target=$$bin/python; }; \
	  rm -rf $(DIST_INSTALL)/$$which; \
	  echo "== $$which: ansible-core $$($$bin/python -c "from ansible.release import __version__ as v; print(v)"), modules on $$($$target -V), the tarball installed into a fresh path"; \
	  ANSIBLE_COLLECTIONS_PATH=$(DIST_INSTALL)/$$which \
	    $$bin/ansible-galaxy collection install --offline -p $(DIST_INSTALL)/$$which $(TARBALL) 2>&1 \
	    | tee $(DIST)/install-$$which.log; \
	  tests/sandbox.sh env PATH="$$bin:$(PATH)" ANSIBLE_COLLECTIONS_PATH=$(DIST_INSTALL)/$$which \
	    $$bin/ansible-playbook -i localhost, -c local -e ansible_python_interpreter=$$target \
	    -e expected_version=$(VERSION) tests/release/installed.yml 2>&1 | tee $(DIST)/play-$$which.log; \
	  ! grep -E 'does not support Ansible|DEPRECATION WARNING' $(DIST)/install-$$which.log $(DIST)/play-$$which.log \
	    || { echo "$$which ansible-core warned about netns.core"; exit 1; }; \
	done

# What an execution environment built with the installed collection gets (ansible-builder reads
# meta/execution-environment.yml): pyroute2 without an upper bound, ip and iptables for dpkg and rpm systems.
ee: dist-check
	@out=$$(ansible-builder introspect --sanitize $(DIST_INSTALL)/newest); echo "$$out"; \
	for want in 'pyroute2>=0.9  # from collection netns.core' 'iproute2 [platform:dpkg]' 'iproute [platform:rpm]' \
	    'iptables [platform:dpkg platform:rpm]'; do \
	  grep -qF -- "$$want" <<<"$$out" || { echo "ansible-builder introspect lacks: $$want"; exit 1; }; \
	done; \
	! grep -E '^- .pyroute2.*<' <<<"$$out" || { echo "no upper bound on Python requirements"; exit 1; }

# `make test` logs every ansible run (ANSIBLE_LOG_PATH); the last stage fails on a deprecation warning, or on an
# ansible-core saying that netns.core does not support it.
test-log:
	@mkdir -p $(dir $(TEST_LOG)) && rm -f $(TEST_LOG) && touch $(TEST_LOG)

deprecations:
	@[ -f $(TEST_LOG) ] || { echo "no $(TEST_LOG): run make test"; exit 1; }
	@if grep -E 'DEPRECATION WARNING|does not support Ansible version' $(TEST_LOG); then \
	  echo "make test: deprecation warnings above ($(TEST_LOG))"; exit 1; fi
	@echo "no deprecation warning in $$(grep -c . $(TEST_LOG)) lines of ansible output"

# The lab runs on this host for real (root needed: sudo is used when you are not root).
LAB_ARGS ?=
ANSIBLE_LAB = $(SUDO) env PATH="$(PATH)" ANSIBLE_COLLECTIONS_PATH="$(COLLECTIONS)" ANSIBLE_NOCOLOR=1 \
  ansible-playbook -i localhost, -c local -e ansible_python_interpreter=$(VENV)/bin/python

lab: deps venv collection
	$(ANSIBLE_LAB) playbooks/lab.yml $(LAB_ARGS)

lab-clean: venv collection
	$(ANSIBLE_LAB) playbooks/lab.yml -e lab_state=absent $(LAB_ARGS)

# The overlay of many hosts on one machine: inside a throw-away sandbox, three simulated hosts
# (tests/tools/simhosts.py) on an underlay bridge, playbooks/overlay.yml run over them with -f 3 (the role, then
# pings from a container on each host to a container on every other host, printed). The sandbox and everything in
# it vanish at the end; nothing of this machine is touched.
OVERLAY_DEMO_ARGS ?=
overlay-demo: deps venv collection
	tests/sandbox.sh env PATH="$(PATH)" ANSIBLE_COLLECTIONS_PATH="$(COLLECTIONS)" ANSIBLE_NOCOLOR=1 \
	  $(VENV)/bin/python tests/tools/simhosts.py run --hosts 3 \
	    --group-vars '{"overlay_containers": [{"name": "red"}, {"name": "blue"}]}' -- \
	    bash -c 'ansible-playbook -f 3 -i "$$SIMHOSTS_INVENTORY" playbooks/overlay.yml $(OVERLAY_DEMO_ARGS)'

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
