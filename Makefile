# videorag: two commands on a fresh machine.
#   make demo   the main job: edge node + simulated camera, trigger events and latency summary
#   make test   lint (ruff, mypy --strict on the core), then unit + ROS + integration tests
#               (real rclpy, real DDS, real onnxruntime)
# Both create the environment first (venv with ROS 2 Kilted wheels, colcon build); see tools/setup_env.sh.
# make demo installs the runtime only (no torch); make test adds the toolchain and the test tools.
# Test tiers: make test-unit (quick, no fuzzing), test-ros, test-integration, test-cli (ros2 launch and
# the ros2 CLI for real; skipped without ../shared/ros2-tools), test-fuzz. `make test` runs them all.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
# DDS discovery stays on this machine for tests, the demo and benchmarks (see videorag_ros/ros/dds.py).
ENV := . tools/env.sh && export PYTHONPATH="$(CURDIR):$$PYTHONPATH" ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST

.PHONY: setup setup-runtime demo lint test test-unit test-ros test-integration test-cli test-fuzz bench clean

setup:
	@bash tools/setup_env.sh full

setup-runtime:
	@bash tools/setup_env.sh runtime

demo: setup-runtime
	@$(ENV) && videorag demo

lint: setup
	@$(ENV) && ruff check . && mypy videorag_ros

test: lint
	@$(ENV) && python -m pytest

test-unit: setup
	@$(ENV) && python -m pytest test/unit -m "not fuzz"

test-ros: setup
	@$(ENV) && python -m pytest test/ros

test-integration: setup
	@$(ENV) && python -m pytest test/integration -m "not fuzz"

test-cli: setup
	@$(ENV) && python -m pytest test/cli

test-fuzz: setup
	@$(ENV) && python -m pytest -m fuzz

bench: setup
	@$(ENV) && videorag bench pipeline --plot bench-pipeline.png

clean:
	rm -rf build install log
