# VLPack — build, demo, test, fuzz. Every target installs the Debian packages it needs when they
# are missing (as root: apt-get update && apt-get install -y ...).
SWIFT        ?= swift
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= pickle zip safetensors vlpack tokenizer-model json tokenizer-encode
FUZZ_DIR     ?= .build-fuzz
# --sanitize=fuzzer alone instruments only the harness, not the library modules it calls: without
# these flags libFuzzer runs blind (about 30 counters instead of thousands).
FUZZ_COVERAGE := -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp
BIN_RELEASE  := .build/release/vlpack
SAMPLES      := Fixtures/samples

DEBIAN_PACKAGES := pkg-config libopenblas-dev libzip-dev \
                   libavformat-dev libavcodec-dev libswresample-dev libswscale-dev libavutil-dev \
                   libjpeg62-turbo-dev

.PHONY: deps build release demo test test-faults test-sanitize fuzz clean

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then echo "run as root, or: sudo apt-get install -y$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product vlpack

# The main job on the bundled sample models: inspect every source, convert them all into one
# .vlpack, inspect it and check every checksum.
DEMO_OUT := out/sample.vlpack
# The prompt of Fixtures/reference/generate_llm_reference.py (its greedy ids are transformers').
LLM_PROMPT := \#\#\#Human: What is happening in the video? \#\#\#Assistant:
demo: release
	@mkdir -p out
	@for f in eva_vit_g.pth blip2_pretrained_flant5xxl.pth imagebind_huge.pth VL_tiny.pth AL_tiny.pth llama-hf llama-meta; do \
	  echo "== vlpack inspect $(SAMPLES)/$$f"; \
	  $(BIN_RELEASE) inspect $(SAMPLES)/$$f > out/inspect.txt || exit 1; \
	  grep -E "family:|summary:|skipped \(|parameters" out/inspect.txt; \
	done
	@mkdir -p out
	$(BIN_RELEASE) convert $(SAMPLES)/eva_vit_g.pth $(SAMPLES)/blip2_pretrained_flant5xxl.pth $(SAMPLES)/VL_tiny.pth \
	  $(SAMPLES)/imagebind_huge.pth $(SAMPLES)/AL_tiny.pth $(SAMPLES)/llama-hf --config $(SAMPLES)/convert-config.json -o $(DEMO_OUT)
	$(BIN_RELEASE) inspect $(DEMO_OUT) | head -20
	$(BIN_RELEASE) verify --integrity $(DEMO_OUT)
	@for d in keep f32; do \
	  echo "== vision branch, --dtype $$d: verify against Fixtures/reference/sample_vision.safetensors"; \
	  $(BIN_RELEASE) convert $(SAMPLES)/eva_vit_g.pth $(SAMPLES)/blip2_pretrained_flant5xxl.pth $(SAMPLES)/VL_tiny.pth \
	    --config $(SAMPLES)/convert-config.json --dtype $$d -o out/vision-$$d.vlpack || exit 1; \
	  $(BIN_RELEASE) verify out/vision-$$d.vlpack --integrity --reference Fixtures/reference/sample_vision.safetensors || exit 1; \
	done
	@echo "== vlpack quantize $(DEMO_OUT) --type q4_k_m (error summary per component)"
	@$(BIN_RELEASE) quantize $(DEMO_OUT) -o out/sample-q4_k_m.vlpack --type q4_k_m | grep '^summary'
	@echo "== vlpack export out/sample-q4_k_m.vlpack --to gguf (the LLM for llama.cpp)"
	@$(BIN_RELEASE) export out/sample-q4_k_m.vlpack --to gguf -o out/llm-q4_k_m.gguf 2> /dev/null
	@for m in $(DEMO_OUT) out/vision-f32.vlpack out/sample-q4_k_m.vlpack; do \
	  echo "== embed the sample video with $$m and verify it against Fixtures/reference/sample_video.safetensors"; \
	  $(BIN_RELEASE) embed $$m --video Fixtures/media/hd709.mp4 -o out/video-embedding.safetensors || exit 1; \
	  $(BIN_RELEASE) verify $$m --reference Fixtures/reference/sample_video.safetensors \
	    --embedding out/video-embedding.safetensors > out/verify.txt || { cat out/verify.txt; exit 1; }; \
	  tail -1 out/verify.txt; \
	done
	@for m in $(DEMO_OUT) out/sample-q4_k_m.vlpack; do \
	  echo "== embed the sample video with sound (Fixtures/media/sample_av.mp4) with $$m; verify every audio stage against Fixtures/reference/sample_audio.safetensors"; \
	  $(BIN_RELEASE) embed $$m --video Fixtures/media/sample_av.mp4 -o out/av-embedding.safetensors > /dev/null || exit 1; \
	  $(BIN_RELEASE) verify $$m --reference Fixtures/reference/sample_audio.safetensors \
	    --embedding out/av-embedding.safetensors > out/verify.txt || { cat out/verify.txt; exit 1; }; \
	  grep -E "^(input.mel|audio.out) .*embed output" out/verify.txt; tail -1 out/verify.txt; \
	done
	@echo "== the sample LLM: tokenize a prompt, generate greedily, verify against Fixtures/reference/sample_llm.safetensors"
	@$(BIN_RELEASE) convert $(SAMPLES)/llama-hf --dtype f32 -o out/llm-f32.vlpack > /dev/null
	$(BIN_RELEASE) tokenize out/llm-f32.vlpack --text "$(LLM_PROMPT)" --bos | head -1
	@for m in out/llm-f32.vlpack out/sample-q4_k_m.vlpack; do \
	  echo "== $$m"; \
	  $(BIN_RELEASE) generate $$m --prompt "$(LLM_PROMPT)" --greedy --max-new-tokens 16 --json | grep -o '"ids":[^]]*]' || exit 1; \
	  $(BIN_RELEASE) verify $$m --reference Fixtures/reference/sample_llm.safetensors || exit 1; \
	done

	@echo "== vlpack run --greedy: the sample video with its sound, a question, the answer (the sample's weights are"
	@echo "   random, so the words mean nothing: the point is that the ids equal the official Chat's)"
	@$(BIN_RELEASE) run $(DEMO_OUT) --video Fixtures/media/sample_av.mp4 --prompt "What is happening in the video?" \
	  --greedy --max-new-tokens 32 --json > out/run.json || exit 1
	@grep -o '"ids":[^]]*]' out/run.json
	@echo "== vlpack verify against the official Chat's reference (Fixtures/reference/sample_chat_av_vicuna.safetensors)"
	@$(BIN_RELEASE) verify $(DEMO_OUT) --reference Fixtures/reference/sample_chat_av_vicuna.safetensors \
	  --video Fixtures/media/sample_av.mp4 > out/verify.txt || { cat out/verify.txt; exit 1; }
	@grep -E "^(prompt string|input.ids|llm.greedy_ids|chat:)" out/verify.txt

test: deps
	$(SWIFT) build
	$(SWIFT) test

# The slow fault tests (README "Safety"): SIGKILL during a 1 GB convert, output into a full 64 MB
# tmpfs (needs root), inputs truncated mid-run; plus the fast bad-path and AtomicFile tests. Big
# files go to /dev/shm and /tmp and are removed afterwards.
test-faults: deps
	$(SWIFT) build --build-tests
	VLPACK_FAULT_TESTS=1 $(SWIFT) test --skip-build --filter 'FaultTests|BadPathTests|AtomicFileTests|MappedFileFaultTests'

# The test suite under sanitizers; not part of `make test` (CI's 20-minute budget). Measured here
# (2 cores, two fuzzers running beside it): cold builds ~2.5 min each, ASan tests ~1.5 min, TSan
# tests ~1.5 min, so ~8 min from scratch and ~3 min when the sanitizer builds are current.
# - AddressSanitizer (with LeakSanitizer) over every suite, and UndefinedBehaviorSanitizer over the
#   C targets: swiftc rejects -sanitize=undefined on Linux, so UBSan goes to clang only (-Xcc); Swift
#   code traps on overflow and bounds by itself. The CLI suites run the ASan build of vlpack.
# - ThreadSanitizer over the suites that run threads: VLInferenceTests (ExecutionContext workers: GEMM column
#   panels, attention heads, element-wise chunks, vision parity), VLQuantTests and VLQuantizeTests
#   (quantizer row parts, streaming quantizer tiles) and VLPackCLITests (embed/verify/bench through
#   the TSan build of vlpack). The other suites are single-threaded.
# Not run under either: FullSizeParity and the benches (gated on VLPACK_FULL_DIR etc., as in
# `make test`). Suppressions (toolchain libraries only, with reasons) are in Sanitizers/.
SANITIZE_ASAN := --sanitize=address -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined --scratch-path .build-asan
SANITIZE_TSAN := --sanitize=thread --scratch-path .build-tsan
TSAN_SUITES   := VLInferenceTests|VLQuantTests|VLQuantizeTests|VLPackCLITests
test-sanitize: deps
	$(SWIFT) build --build-tests $(SANITIZE_ASAN)
	VLPACK_SANITIZED=1 LSAN_OPTIONS=suppressions=$(CURDIR)/Sanitizers/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 SWIFT_BACKTRACE=enable=no \
	  VLPACK_BINARY=$(CURDIR)/.build-asan/debug/vlpack $(SWIFT) test --skip-build $(SANITIZE_ASAN)
	$(SWIFT) build --build-tests $(SANITIZE_TSAN)
	VLPACK_SANITIZED=1 TSAN_OPTIONS=halt_on_error=1 SWIFT_BACKTRACE=enable=no \
	  VLPACK_BINARY=$(CURDIR)/.build-tsan/debug/vlpack $(SWIFT) test --skip-build $(SANITIZE_TSAN) --filter '$(TSAN_SUITES)'

# libFuzzer under AddressSanitizer, seeded with the fixtures. FUZZ_SECONDS per parser. Only the
# vlpack corpus needs the release binary (it converts its seed), so only that target builds it.
# SWIFT_BACKTRACE=enable=no: after a Swift trap the runtime's backtracer reads memory ASan reports
# as a heap-buffer-overflow in CrashHandlerLinux.cpp, hiding the trap; libFuzzer prints the stack.
fuzz: deps $(if $(filter vlpack,$(FUZZ_TARGETS)),release)
	@for t in $(FUZZ_TARGETS); do \
	  $(SWIFT) build --scratch-path $(FUZZ_DIR) --product fuzz-$$t --sanitize=fuzzer --sanitize=address $(FUZZ_COVERAGE) || exit 1; \
	  mkdir -p $(FUZZ_DIR)/corpus-$$t; \
	  VLPACK=$(BIN_RELEASE) Fixtures/fuzz-seeds.sh $$t $(FUZZ_DIR)/corpus-$$t; \
	  SWIFT_BACKTRACE=enable=no $(FUZZ_DIR)/debug/fuzz-$$t $(FUZZ_DIR)/corpus-$$t -max_total_time=$(FUZZ_SECONDS) -max_len=2097152 \
	    -rss_limit_mb=4096 -timeout=20 -artifact_prefix=$(FUZZ_DIR)/crash-$$t- 2>&1 | tee $(FUZZ_DIR)/fuzz-$$t.log | grep -E "INITED|DONE|Done|ERROR|crash" ; \
	done

clean:
	rm -rf .build $(FUZZ_DIR) .build-asan .build-tsan
