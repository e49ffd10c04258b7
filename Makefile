# ptio's two entry points: `make demo` (build and run ptio on a bundled sample) and `make test`
# (the whole suite, then the ASan+UBSan build of it). Both install what they need from Debian.
BUILD ?= build
BUILD_ASAN ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: deps configure build demo test test-asan test-fast bench fuzz format clean

deps:
	@./scripts/install-deps.sh

# configure: the build directory only (no compilation).
configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPTIO_WERROR=ON $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# The demo builds only the ptio CLI (and the library under it), not the test suite.
demo: configure
	@cmake --build $(BUILD) -j $(JOBS) --target ptio_cli
	$(BUILD)/tools/ptio/ptio info samples/state_dict.pt
	$(BUILD)/tools/ptio/ptio tensors samples/state_dict.pt
	$(BUILD)/tools/ptio/ptio scan samples/state_dict.pt

# The full suite (everything but the multi-GiB tests), then the same under ASan+UBSan.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE large
	@$(MAKE) --no-print-directory test-asan

test-asan: deps
	@cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPTIO_SANITIZE=ON -DPTIO_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -LE 'large|interop|bench'

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE 'large|interop'

bench: deps
	@cmake -S . -B $(BUILD)-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DPTIO_BUILD_BENCH=ON >/dev/null
	@cmake --build $(BUILD)-bench -j $(JOBS)
	./bench/run.sh $(BUILD)-bench $(BENCH_ARGS)

format:
	clang-format -i $$(git ls-files '*.h' '*.cpp')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD)-bench
