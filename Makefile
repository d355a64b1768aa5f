# Entry points. `make test` is what CI runs (through .ci/run); each tier can run alone.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ENV := test/env/kube-env.sh
FUZZ_SECONDS ?= 20

.PHONY: help deps build unit integration cassandra-tests lint fuzz test bench bench-scale demo env-up env-down clean \
  cluster-up cluster-down cluster-status images e2e e2e-ci e2e-full

help:
	@echo "make demo | test | unit | integration | lint | fuzz | bench | bench-scale | env-up | env-down"
	@echo "     cluster-up | cluster-down | cluster-status | images | e2e"

deps:
	bash hack/install-deps.sh

build: deps
	cmake --preset ci >/dev/null
	cmake --build --preset ci

unit: build
	ctest --preset unit
	@echo "scenario tier: $$(build/ci/src/operator/operator_scenario_test --gtest_list_tests --gtest_filter='Scenario.*' | grep -c '^  ') scenarios passed (operator_scenario_test, one per safety rule and defect)"

# The integration tier against a real kube-apiserver + etcd + controller-manager, and the S3
# client against a real S3 server (versitygw); the environment is torn down afterwards whatever
# the result.
integration: build
	bash hack/kubebin/build.sh >/dev/null
	bash hack/s3/versitygw.sh >/dev/null
	bash $(ENV) up >/dev/null
	set -a; source $${RINGKEEPER_ENV_DIR:-/tmp/ringkeeper-env}/env; set +a; \
	  ctest --preset integration; rc=$$?; bash $(ENV) down; exit $$rc

# Real Cassandra 5.0 nodes on 127.0.0.1-3 for the agent (jars from Maven Central, cached).
cassandra-tests: build
	bash hack/cassandra/fetch.sh >/dev/null
	ctest --test-dir build/ci -L cassandra --output-on-failure

lint: build
	bash hack/lint.sh build/ci

fuzz: deps
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz --target object_json_fuzzer watch_frame_fuzzer cql_result_fuzzer \
	  config_jar_fuzzer
	bash hack/fuzz.sh build/fuzz $(FUZZ_SECONDS)

# Each tier in turn, its time printed (CI reads them); the first failing tier stops the run.
TIERS := lint unit integration cassandra-tests fuzz e2e-ci
test:
	@for t in $(TIERS); do s=$$(date +%s); $(MAKE) --no-print-directory $$t || exit $$?; \
	  echo "tier $$t: $$(( $$(date +%s) - s ))s"; done

# In `make test` the e2e tier tears the local cluster down afterwards.
e2e-ci:
	$(MAKE) e2e E2E_DOWN=1 E2E_SET=ci

# Every e2e scenario (what an issue is resolved on); `make e2e` is the same, leaving the cluster up.
e2e-full:
	$(MAKE) e2e E2E_DOWN=1 E2E_SET=full

bench: deps
	cmake --preset release >/dev/null
	cmake --build --preset release --target kube_bench upload_bench ringkeeper-agent ringkeeper-operator
	bash bench/run.sh build/release
	bash bench/operator_scale.sh build/release
	bash bench/metrics.sh build/release
	bash bench/upload.sh build/release
	bash bench/repair.sh

# The operator-scale bench alone: `make bench-scale SIZES="100 300"`.
bench-scale: deps
	cmake --preset release >/dev/null
	cmake --build --preset release --target ringkeeper-operator
	bash bench/operator_scale.sh build/release $(SIZES)

demo:
	@bash hack/demo.sh

env-up:
	bash hack/kubebin/build.sh >/dev/null
	bash $(ENV) up

env-down:
	bash $(ENV) down

clean:
	rm -rf build

# The local single-node Kubernetes (kubelet, containerd, kube-proxy, a volume provisioner) that
# the e2e tier and the demo run on; see test/cluster/local-cluster.sh.
CLUSTER := test/cluster/local-cluster.sh

cluster-up: deps
	bash $(CLUSTER) up

cluster-down:
	bash $(CLUSTER) down

cluster-status:
	bash $(CLUSTER) status

# Container images from images/*/Dockerfile, loaded into the local cluster when it runs.
images: deps
	bash hack/images.sh

# The e2e tier on the local cluster: `down` leaves nothing behind (test/cluster/updown_test.sh),
# then the Cassandra scenarios (test/e2e/run.sh). The cluster is left up unless E2E_DOWN=1.
e2e: deps
	bash test/cluster/updown_test.sh
	E2E_DOWN=$${E2E_DOWN:-0} E2E_SET=$${E2E_SET:-full} bash test/e2e/run.sh
