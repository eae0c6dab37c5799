# imcflow — make targets. `make setup` is guarded by a stamp file; every other target depends on it.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
IMC   := $(VENV)/bin/imcflow
STAMP := $(VENV)/.setup-stamp
SUDO  := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
APT_PKGS := ngspice libngspice0 libngspice0-dev dataset-fashion-mnist klayout
SPEC  ?= netlists/demo_spec.json
FLOW  ?= runs/flow
WORKERS ?= 2

.PHONY: setup test test-fast wheel-check flow generality corners mc netlists layouts characterize fit train train-fmnist \
	report bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,dist]'
	@touch $(STAMP)

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

# Build the wheel, install it non-editable into a fresh venv, run the CLI outside the tree.
wheel-check: setup
	PYTHON=$(PY) .ci/wheel-check

lint: setup
	$(VENV)/bin/ruff check imcflow tests benchmarks

# The main job on the embedded Iris 5-5-3 demo; every stage is cached under $(FLOW).
flow: setup
	$(IMC) flow -o $(FLOW) --workers $(WORKERS)

netlists: setup
	$(IMC) spec init -o $(SPEC) --force
	$(IMC) netlist $(SPEC) -o netlists/demo

layouts: netlists
	$(IMC) layout $(SPEC) -o layouts/demo
	$(IMC) drc layouts/demo/iris_demo.gds -o layouts/demo/drc.txt
	$(IMC) lvs layouts/demo/iris_demo.gds $(SPEC) -o layouts/demo/lvs.txt

characterize: setup
	$(IMC) flow -o $(FLOW) --workers $(WORKERS) --stop-after characterize

fit: setup
	$(IMC) flow -o $(FLOW) --workers $(WORKERS) --stop-after fit

# Iris 5-5-3 with the paper's circuit E± (standalone trainer, ~10 s), then the flow's training
# of the bottom-up and top-down networks on the fitted circuit.
train: setup
	$(IMC) train --dataset iris --hidden 5 --E-pos 2.80 --E-neg -1.53 --lr 1e-2 --batch-size 50 \
	  --epochs 300 --gamma1 0.1 --weight-l2 1e-2 --threads 1 --out runs/train-iris --resume
	$(IMC) flow -o $(FLOW) --workers $(WORKERS) --stop-after train

# Fashion-MNIST MLP 784-400-400-10, RC-Spike, DSTD M = 10 (hours on 2 CPU cores; resumable).
train-fmnist: setup
	$(IMC) train --dataset fmnist --model mlp --neuron rc --E 7.4 --M 10 --epochs 25 \
	  --lr 5e-4 --lr-schedule cosine --threads 1 --out runs/fmnist-mlp --resume

# The design-point suite (hidden width, T, channel length, MIM, biases, corner, temperature):
# the whole flow on every point, resumable; summary in runs/generality/report/.
generality: setup
	$(IMC) generality -o runs/generality --workers $(WORKERS)

# The demo's written-back networks at 5 corners × {-40, 27, 85} °C with replica biases (a current-
# mirror generator's, tt 27 °C currents held), untrimmed and trimmed per
# point (two bias knobs, chosen on training samples); `make mc`: 20 mismatch instances at tt,
# 27 °C. Both resumable.
corners: flow
	$(IMC) corners $(FLOW) -o runs/corners --trim 2 --workers $(WORKERS)

mc: flow
	$(IMC) corners $(FLOW) -o runs/mc --mc-seeds $$(seq -s, 1 20) --trim 0 --workers $(WORKERS)

report: setup
	$(IMC) flow -o $(FLOW) --workers $(WORKERS)

bench: setup
	@set -e; for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b; done

clean:
	rm -rf runs .pytest_cache build *.egg-info
