# ryuryo — the two commands: `make run` and `make test` (both install what is missing first).
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build run test test-asan bench fmt clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Starts the server on the demo catalog (examples/ryuryo.toml) with its store in ./data, and
# `ryuryo simulate` sending it RADIUS accounting for the demo lines (scripts/run-demo.sh).
run: build
	bash scripts/run-demo.sh $(BUILD) examples/ryuryo.toml

test: build
	ctest --test-dir $(BUILD) -j 2 --output-on-failure --timeout 900

# The same tests built with AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRYURYO_SANITIZE=ON -DRYURYO_BENCH=OFF
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	ctest --test-dir $(BUILD_ASAN) -j 2 --output-on-failure --timeout 1800

bench: build
	bash bench/run.sh $(BUILD)

fmt:
	clang-format -i $$(git ls-files 'src/*.cc' 'src/*.h' 'bench/*.cc' 'fuzz/*.cc')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
