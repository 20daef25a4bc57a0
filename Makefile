# Gemensam IT: the two commands are `make lab` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON      ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
LAB_PREFIX  ?= gemensam
LAB_SUBNET  ?= 10.89.0.0/24
BASE_IMAGE  ?= localhost/gemensam-base:bookworm
# iptables: Debian 12's netavark drives the firewall through it, and nothing pulls it in.
# smbclient: the summary's file-share command is run from this machine, and discovery reads
# an old file server with its smbclient and rpcclient (migration/discovery/file_server.py).
# dnsmasq-base: the lab workstations' DHCP (tests/e2e/vm.py), as a site network gives it.
# The workstation image (workstation_image/build): mmdebstrap for the root, GRUB for BIOS and
# UEFI from the host, partitioning and file systems, qcow2 and bmap, signatures; QEMU and
# OVMF boot it in the tests.
APT_PACKAGES := podman runc iptables debootstrap netavark aardvark-dns nftables openssh-client lynis openssl \
                smbclient dnsmasq-base \
                mmdebstrap grub-pc-bin grub-efi-amd64-bin gdisk dosfstools e2fsprogs qemu-utils bmap-tools gnupg mtools \
                qemu-system-x86 ovmf

export CONTAINERS_CONF          := $(CURDIR)/lab/containers.conf
export ANSIBLE_CONFIG           := $(CURDIR)/ansible.cfg
export GEMENSAM_LAB_PREFIX      := $(LAB_PREFIX)
export GEMENSAM_SERVICE_NETWORK := $(LAB_SUBNET)
export GEMENSAM_BASE_IMAGE      := $(BASE_IMAGE)
export PATH                     := $(CURDIR)/$(BIN):$(PATH)

REGISTER := inventory/stockholm/data/register/.generated

.PHONY: help setup packages venv register image check-podman lab lab-up converge legacy summary lab-down \
        validate lint unit molecule e2e test bench workstation-image workstation-images

help:
	@echo "make lab       build what is missing, start the lab, converge it, print a summary"
	@echo "make test      lint, unit tests, Molecule per role, lab end-to-end tests"
	@echo "make lab-down  remove the lab (LAB_PREFIX=$(LAB_PREFIX))"
	@echo "make validate  validate the city inventory and the workstation image's spec"
	@echo "make bench     print the benchmarks' figures"
	@echo "make workstation-image PROFILE=kontor-stationar  build and sign a workstation image"

## Set-up: idempotent, part of both commands ---------------------------------
setup: packages venv register

packages:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-nodeps.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { apt-get install -y -qq python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	@touch $@

register: $(REGISTER)
$(REGISTER): tools/generate_register.py module_utils/city_model.py $(wildcard inventory/stockholm/data/organisations/*.yml) | venv
	$(BIN)/python tools/generate_register.py
	@touch $@

image: packages venv
	@PYTHON=$(BIN)/python lab/build-base-image $(BASE_IMAGE)

# Starts and removes a throwaway container on a podman network: a missing piece is
# named here, before any lab is touched.
check-podman: image
	@lab/check-podman $(BASE_IMAGE)

## The lab --------------------------------------------------------------------
lab: setup check-podman lab-up converge legacy summary

lab-up:
	$(BIN)/ansible-playbook playbooks/lab/up.yml

converge:
	$(BIN)/ansible-playbook playbooks/site.yml

# The old servers of the committee the lab moves (inventory/lab: legacy_hosts).
legacy:
	$(BIN)/ansible-playbook playbooks/lab/legacy.yml

summary:
	@$(BIN)/python lab/summary

lab-down: venv
	$(BIN)/ansible-playbook playbooks/lab/down.yml

validate: setup
	env -u GEMENSAM_SERVICE_NETWORK $(BIN)/python tools/validate_city.py inventory/stockholm \
	  inventory/stockholm/workstations
	$(BIN)/python tools/validate_city.py inventory/lab
	$(BIN)/python workstation_image/validate

## The workstation image -----------------------------------------------------
# make workstation-image [PROFILE=kontor-stationar] [IMAGE_PROXY=http://mirror:3142]
PROFILE     ?= kontor-stationar
IMAGE_PROXY ?=
workstation-image: setup
	workstation_image/build $(PROFILE) --out .lab/$(LAB_PREFIX)/images/$(PROFILE) $(if $(IMAGE_PROXY),--proxy $(IMAGE_PROXY))

# Every profile of the spec, one after the other.
workstation-images: setup
	@for profile in $$($(BIN)/python -c 'import sys; sys.path.insert(0, "workstation_image"); \
	    import image_root; print(*image_root.profile_ids())'); do \
	  workstation_image/build $$profile --out .lab/$(LAB_PREFIX)/images/$$profile $(if $(IMAGE_PROXY),--proxy $(IMAGE_PROXY)) || exit 1; \
	done

## Tests ----------------------------------------------------------------------
lint: venv
	$(BIN)/yamllint -s .
	$(BIN)/ruff check .
	$(BIN)/ansible-lint

unit: setup
	$(BIN)/pytest -q tests/unit

# Every role's scenario, two at a time (tests/molecule/run; MOLECULE_JOBS=1 for one at a time).
molecule: setup check-podman
	tests/molecule/run

# The end-to-end test runs its own lab beside any lab that is up.
E2E_PREFIX ?= gemensam-e2e
E2E_SUBNET ?= 10.89.200.0/24
# A lab of that name left by an interrupted run, or by another checkout, is removed first.
e2e: setup check-podman
	$(MAKE) --no-print-directory lab-down LAB_PREFIX=$(E2E_PREFIX) LAB_SUBNET=$(E2E_SUBNET)
	$(MAKE) --no-print-directory lab-up converge legacy LAB_PREFIX=$(E2E_PREFIX) LAB_SUBNET=$(E2E_SUBNET)
	LAB_PREFIX=$(E2E_PREFIX) GEMENSAM_LAB_PREFIX=$(E2E_PREFIX) GEMENSAM_SERVICE_NETWORK=$(E2E_SUBNET) \
	  $(BIN)/pytest -q --durations=15 tests/e2e && status=0 || status=$$?; \
	$(MAKE) --no-print-directory lab-down LAB_PREFIX=$(E2E_PREFIX) LAB_SUBNET=$(E2E_SUBNET); exit $$status

test: lint unit molecule e2e

bench: setup image
	bench/run
