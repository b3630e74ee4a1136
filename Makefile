# The README's two commands: `make demo` (main job) and `make test` (build + tests).
# Both install the Debian packages they need first (scripts/install-deps.sh, idempotent).
BUILD ?= build
JOBS ?= $(shell nproc)
CTEST_LABELS ?= unit|reference|cli|slow|browser|fuzz
BIN := $(BUILD)/apps/scintigen/scintigen

.PHONY: all deps configure build test test-fast demo bench clean format

all: build

deps:
	scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Every test with the labels above (browser: headless chromium, installed by deps; gpu tests
# have their own target later).
test: build
	cd $(BUILD) && ctest -L '$(CTEST_LABELS)' -j $(JOBS) --output-on-failure --timeout 900

test-fast: build
	cd $(BUILD) && ctest -L 'unit' -j $(JOBS) --output-on-failure

demo: build
	$(BIN) demo

bench: build
	bench/run_ingest_bench.sh

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD)
