# BounceCheck - the developer entry points. Meson + Ninja do the building;
# this file installs what is missing and names the everyday tasks.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
TSAN_BUILD ?= build-tsan
PREFIX     ?= /usr/local
DESTDIR    ?=
FUZZ_SECONDS ?= 60
# Every fuzz target: fuzz/fuzz_NAME.c, with its seed corpus in fuzz/corpus/NAME
# (fuzz/meson.build refuses a fuzz_*.c it does not build, or one without a
# corpus). FUZZ_TARGETS="addr spf" runs only those.
FUZZ_TARGETS ?= $(sort $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c)))

.PHONY: all build deps run test test-unit lint format format-check tsan bench fuzz install uninstall update-data clean

all: build

deps:
	@scripts/deps.sh build

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fno-sanitize-recover=all -Dbuildtype=debug

# The main job on its embedded defaults: the HTTP API on 127.0.0.1:8025,
# keys, jobs and cache in a local data directory. It prints the URL and a
# first curl to try; Ctrl-C stops it (jobs resume at the next start).
RUN_DATA ?= bouncecheck-data
run: build
	$(BUILD)/bouncecheck serve --data $(RUN_DATA)

# cppcheck over every C file of the build (scripts/lint.sh; suppressions in
# .cppcheck and inline). Fails on any finding.
lint: deps
	@scripts/deps.sh build lint
	@$(MAKE) --no-print-directory $(BUILD)/build.ninja
	scripts/lint.sh $(BUILD)

# clang-format with .clang-format over the C sources (the file list is in
# scripts/format.sh): format rewrites them, format-check fails on any
# difference (make test runs format-check first).
format:
	@scripts/deps.sh lint
	scripts/format.sh

format-check:
	@scripts/deps.sh lint
	scripts/format.sh --check

# The server's suites under ThreadSanitizer (gcc), in their own build
# directory; the suites are named in tests/tsan-suites.txt, the reports
# that are not ours in tests/tsan.supp.
$(TSAN_BUILD)/build.ninja:
	meson setup $(TSAN_BUILD) -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debugoptimized

tsan: deps
	@scripts/deps.sh build test
	@$(MAKE) --no-print-directory $(TSAN_BUILD)/build.ninja
	ninja -C $(TSAN_BUILD)
	tests/run-all.sh $(TSAN_BUILD):tsan

# The linter, then unit tests, conformance suites, fuzz corpora: once
# plainly, once under ASan+UBSan, and the server's suites once more under
# TSan. Ends with "N passed, N failed".
test: deps
	@scripts/deps.sh test lint
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	@$(MAKE) --no-print-directory $(TSAN_BUILD)/build.ninja
	ninja -C $(TSAN_BUILD)
	tests/run-all.sh $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD):tsan

bench: build
	@scripts/deps.sh bench
	BUILD=$(abspath $(BUILD)) bench/syntax/run.sh
	BUILD=$(abspath $(BUILD)) bench/verify/run.sh
	BUILD=$(abspath $(BUILD)) bench/bulk/run.sh
	BUILD=$(abspath $(BUILD)) bench/domains/run.sh
	BUILD=$(abspath $(BUILD)) bench/scale/run.sh
	BUILD=$(abspath $(BUILD)) bench/scale/pg.sh
	BUILD=$(abspath $(BUILD)) bench/api/run.sh
	BUILD=$(abspath $(BUILD)) bench/extract/run.sh
	BUILD=$(abspath $(BUILD)) bench/replies/run.sh

fuzz:
	@scripts/deps.sh build fuzz
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(FUZZ_BUILD) $(addprefix fuzz/fuzz_,$(FUZZ_TARGETS))
	for t in $(FUZZ_TARGETS); do \
		echo "== fuzz_$$t ($(FUZZ_SECONDS) s)"; \
		rm -rf $(FUZZ_BUILD)/corpus-$$t && cp -r fuzz/corpus/$$t $(FUZZ_BUILD)/corpus-$$t && \
		$(FUZZ_BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(FUZZ_BUILD)/ \
			$(FUZZ_BUILD)/corpus-$$t || exit 1; \
	done

install: build
	meson install -C $(BUILD) --destdir "$(DESTDIR)"

uninstall:
	ninja -C $(BUILD) uninstall

# Regenerate data/ from the pinned npm packages (needs the npm registry).
update-data: build
	scripts/update-data.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(TSAN_BUILD)
