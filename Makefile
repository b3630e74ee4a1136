# The README's two commands: `make demo` (main job) and `make test` (build + tests).
# Both install the Debian packages they need first (scripts/install-deps.sh, idempotent).
BUILD ?= build
JOBS ?= $(shell nproc)
CTEST_LABELS ?= unit|reference|cli|slow|browser|fuzz
BIN := $(BUILD)/apps/scintigen/scintigen

.PHONY: all deps deps-runtime configure configure-demo build test test-fast demo bench clean format format-check install

all: build

deps:
	scripts/install-deps.sh

# Only what building and running the binary needs: no test references, browser or npm.
deps-runtime:
	scripts/install-deps.sh --runtime

configure: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCINTIGEN_BUILD_TESTS=ON -DSCINTIGEN_BUILD_BENCH=ON

configure-demo: deps-runtime
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCINTIGEN_BUILD_TESTS=OFF -DSCINTIGEN_BUILD_BENCH=OFF

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Every test with the labels above (browser: headless chromium, installed by deps; gpu tests
# have their own target later).
test: build
	cd $(BUILD) && ctest -L '$(CTEST_LABELS)' -j $(JOBS) --output-on-failure --timeout 1500

test-fast: build
	cd $(BUILD) && ctest -L 'unit' -j $(JOBS) --output-on-failure

# The demo builds the binary alone (not the tests or benchmarks), then runs it.
demo: configure-demo
	cmake --build $(BUILD) -j $(JOBS) --target scintigen
	$(BIN) demo

bench: build
	bench/run_ingest_bench.sh

format:
	scripts/format.sh

# Also part of `make test` (CTest Format.SourcesMatchClangFormat).
format-check:
	scripts/format.sh --check

# PREFIX/bin/scintigen and PREFIX/share/scintigen (docs/INSTALL.md); PREFIX may be moved later.
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD)
