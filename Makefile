# Thin driver over scripts/install-deps and the CMake presets. The real build is CMake.
PRESET ?= release
JOBS   ?= $(shell nproc)
BUILD  := build/$(PRESET)
# CI (CI=true) builds with warnings as errors.
CMAKE_EXTRA := $(if $(CI),-DCITYTWIN_WERROR=ON,)

.PHONY: all deps configure build demo whatif test test-asan bench validate validate-traffic fuzz fuzz-build clean

all: build

deps:
	@scripts/install-deps

configure: deps
	@cmake --preset $(PRESET) $(CMAKE_EXTRA) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# Loads Monaco and runs the default scenario; outputs go to out/monaco/.
demo: build
	@$(BUILD)/engine/citytwin run scenarios/monaco.toml

# A planner's what-if: the Monaco storm against the same storm with 15 mm/h of drainage, compared:
# KPIs, difference maps and out/compare/report.html (docs/compare.md).
whatif: build
	@$(BUILD)/engine/citytwin run scenarios/monaco.toml --quiet
	@$(BUILD)/engine/citytwin run scenarios/whatif/monaco-drainage.toml --quiet
	@$(BUILD)/engine/citytwin compare out/monaco out/monaco-drainage --out out/compare

# Every test, through ctest (unit, analytic, scenario, determinism). Long validations are not here.
test: build
	@ctest --preset $(PRESET) -j $(JOBS) -LE validate

# The same tests under AddressSanitizer + UBSan (the asan preset), but the viewer's (OpenGL under
# Xvfb) and the two full coupled Monaco hours (minutes each under the sanitizers). CI runs it.
test-asan: deps
	@cmake --preset asan $(CMAKE_EXTRA) >/dev/null
	@cmake --build build/asan -j $(JOBS)
	@ctest --preset asan -j $(JOBS) -LE validate -E "viewer|coupled monaco"

# One JSON line per benchmark result on stdout (the build's output goes to stderr). Without a display the viewer benchmarks get
# an Xvfb server (Debian's OpenSceneGraph is GLX-only).
XVFB := $(if $(DISPLAY),,xvfb-run -a -s "-screen 0 1280x720x24 -noreset")
bench:
	@$(MAKE) --no-print-directory build >&2
	@$(XVFB) $(BUILD)/benchmarks/citytwin-bench --all

# Long validations against reference tools (minutes to hours; SUMO from install-deps
# --validate), then a short fuzz run (60 s per harness); not run by CI.
validate: build
	@scripts/install-deps --validate
	@ctest --preset $(PRESET) -L validate --timeout 7200
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=60

# The traffic validation set against SUMO (tests/validation/traffic); rewrites its table in
# docs/traffic.md.
validate-traffic:
	@PRESET=$(PRESET) JOBS=$(JOBS) scripts/validate-traffic

# The libFuzzer harnesses (tests/fuzz; clang-14, ASan + UBSan: the fuzz preset), each run for
# FUZZ_SECONDS one after another; one summary line per harness (docs/testing.md). FUZZ=name
# runs only some of them.
FUZZ_SECONDS ?= 60
FUZZ ?=
fuzz-build:
	@scripts/install-deps --fuzz
	@cmake --preset fuzz >/dev/null
	@cmake --build build/fuzz -j $(JOBS)

fuzz: fuzz-build
	@scripts/fuzz --seconds $(FUZZ_SECONDS) $(FUZZ)

clean:
	rm -rf build out
