// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "VLPack",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vlpack", targets: ["VLPackCLI"]),
        .library(name: "VLCheckpoint", targets: ["VLCheckpoint"]),
        .library(name: "VLPackFormat", targets: ["VLPackFormat"]),
        // libFuzzer harnesses: build with `swift build --product NAME --sanitize=fuzzer --sanitize=address`.
        .executable(name: "fuzz-pickle", targets: ["FuzzPickle"]),
        .executable(name: "fuzz-zip", targets: ["FuzzZip"]),
        .executable(name: "fuzz-safetensors", targets: ["FuzzSafetensors"]),
        .executable(name: "fuzz-vlpack", targets: ["FuzzVLPack"]),
        .executable(name: "fuzz-tokenizer-model", targets: ["FuzzTokenizerModel"]),
        .executable(name: "fuzz-json", targets: ["FuzzJSON"]),
        .executable(name: "fuzz-tokenizer-encode", targets: ["FuzzTokenizer"]),
        // Audio preprocessing timings for Docs/BENCHMARKS.md (scripts/bench_audio.py drives it).
        .executable(name: "vlmedia-audio-bench", targets: ["VLAudioBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // C kernels: SHA-256 and other hot loops that want plain C.
        // -ffp-contract=off: the quantization kernels must never fuse a*b+c (bit-exactness with ggml).
        .target(name: "CVLKernels", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]),
        .systemLibrary(name: "CZip", pkgConfig: "libzip", providers: [.apt(["libzip-dev"])]),
        // FFmpeg 5.1 (libavformat, libavcodec, libswscale, libswresample, libavutil); see shim.h.
        .systemLibrary(name: "CFFmpeg", pkgConfig: "libavformat", providers: [.apt([
            "libavformat-dev", "libavcodec-dev", "libswresample-dev", "libswscale-dev", "libavutil-dev",
        ])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        .target(name: "VLCore", dependencies: ["CVLKernels"]),
        .target(name: "VLPickle", dependencies: ["VLCore"]),
        .target(name: "VLTorch", dependencies: ["VLCore", "VLPickle", "CZip"]),
        .target(name: "VLSafetensors", dependencies: ["VLCore"]),
        // The native `.vlpack` container: layout, validating reader, streaming writer (Formats/VLPACK.md).
        .target(name: "VLPackFormat", dependencies: ["VLCore", "CZip"]),
        // GGUF-compatible block quantization kernels. Optimized even in debug builds: the tests push
        // tens of millions of values through the plain-Swift reference kernels.
        .target(name: "VLQuant", dependencies: ["VLCore", "CVLKernels"],
                swiftSettings: [.unsafeFlags(["-O"])]),
        // CPU reference inference (f32 compute on OpenBLAS) reading weights from a mapped `.vlpack`.
        // Optimized even in debug builds: the parity tests run whole (tiny and full-size) models.
        .target(name: "VLInference", dependencies: ["VLCore", "VLPackFormat", "VLQuant", "CBLAS", "CVLKernels"],
                swiftSettings: [.unsafeFlags(["-O"])]),
        // Parity checking over any branch: error metrics, named tolerances, reference files (Formats/REFERENCE.md).
        .target(name: "VLVerify", dependencies: ["VLCore", "VLPackFormat", "VLInference", "VLSafetensors", "VLTokenizer", "VLPipeline", "VLGeneration"]),
        .target(name: "VLCheckpoint", dependencies: [
            "VLCore", "VLTorch", "VLSafetensors", "VLPackFormat",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Model maps are data: Sources/VLConvert/Maps, also reachable as Formats/maps.
        .target(name: "VLConvert", dependencies: [
            "VLCore", "VLCheckpoint", "VLPackFormat", "VLTorch", "VLSafetensors",
            .product(name: "Logging", package: "swift-log"),
        ], resources: [.copy("Maps")]),
        // Quantization policy, streaming quantizer and error reports (Formats/QUANT_POLICY.md).
        .target(name: "VLQuantize", dependencies: ["VLCore", "VLQuant", "VLPackFormat", "VLConvert"],
                swiftSettings: [.unsafeFlags(["-O"])]),
        // Tokenizers: the SentencePiece `tokenizer.model` reader (later encode/decode, prompt templates).
        // Optimized even in debug builds: the tests push every Unicode scalar value through encode/decode.
        .target(name: "VLTokenizer", dependencies: ["VLCore"], swiftSettings: [.unsafeFlags(["-O"])]),
        // GGUF: the streaming writer and the LLM export llama.cpp loads.
        .target(name: "VLGGUF", dependencies: ["VLCore", "VLQuant", "VLPackFormat", "VLConvert", "VLQuantize", "VLTokenizer"]),
        // JPEG decoding with libjpeg-turbo, as Pillow decodes (a C shim so libjpeg's longjmp stays in C).
        .target(name: "CVLJpeg", linkerSettings: [.linkedLibrary("jpeg")]),
        // Video, image and audio decoding and the official preprocessing (spec §4.1–§4.3).
        // Optimized even in debug builds: the audio tests resample and fbank whole fixture files.
        .target(name: "VLMedia", dependencies: ["VLCore", "CFFmpeg", "CVLJpeg"], swiftSettings: [.unsafeFlags(["-O"])]),
        // Generation shared by every decoder: parameters, transformers' logits warpers, seeded sampling, the loop.
        .target(name: "VLGeneration", dependencies: ["VLCore", "VLInference"]),
        // The library pipeline: media + model → every stage output (later the prompt and the answer).
        .target(name: "VLPipeline", dependencies: ["VLCore", "VLMedia", "VLPackFormat", "VLInference", "VLSafetensors", "VLTokenizer", "VLGeneration"]),
        .executableTarget(name: "VLPackCLI", dependencies: [
            "VLCheckpoint", "VLCore", "VLConvert", "VLPackFormat", "CVLKernels", "VLMedia", "VLSafetensors", "VLInference", "VLVerify", "VLPipeline", "VLQuantize", "VLQuant", "VLGGUF", "VLTokenizer", "VLGeneration",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .executableTarget(name: "VLAudioBench", dependencies: ["VLMedia"]),
        .executableTarget(name: "FuzzPickle", dependencies: ["VLPickle", "VLTorch"]),
        .executableTarget(name: "FuzzZip", dependencies: ["VLTorch"]),
        .executableTarget(name: "FuzzSafetensors", dependencies: ["VLSafetensors"]),
        .executableTarget(name: "FuzzVLPack", dependencies: ["VLPackFormat", "VLCore"]),
        .executableTarget(name: "FuzzTokenizerModel", dependencies: ["VLTokenizer"]),
        .executableTarget(name: "FuzzJSON", dependencies: ["VLConvert", "VLCore"]),
        .executableTarget(name: "FuzzTokenizer", dependencies: ["VLTokenizer"]),

        // Helpers shared by the test suites (the fixed-seed generator, running child processes).
        .target(name: "VLTestSupport", path: "Tests/VLTestSupport"),
        // The sample models converted into one `.vlpack`, for the suites that need a whole file.
        .target(name: "VLTestSamples", dependencies: [
            "VLConvert", "VLPackFormat", "VLCore", .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/VLTestSamples"),
        .testTarget(name: "VLCoreTests", dependencies: ["VLCore", "CVLKernels", "VLTestSupport"]),
        .testTarget(name: "VLPickleTests", dependencies: ["VLPickle"]),
        .testTarget(name: "VLTorchTests", dependencies: ["VLTorch", "VLCore"]),
        .testTarget(name: "VLSafetensorsTests", dependencies: ["VLSafetensors", "VLCore"]),
        .testTarget(name: "VLPackFormatTests", dependencies: ["VLTestSupport", "VLPackFormat", "VLCore"]),
        .testTarget(name: "VLQuantTests", dependencies: ["VLTestSupport", "VLQuant", "VLCore"],
                    swiftSettings: [.unsafeFlags(["-O"])]),
        .testTarget(name: "VLCheckpointTests", dependencies: ["VLCheckpoint", "VLCore"]),
        .testTarget(name: "VLPackCLITests", dependencies: ["VLTestSupport", "VLCheckpoint", "VLSafetensors", "VLVerify", "VLCore"]),
        .testTarget(name: "VLMediaTests", dependencies: ["VLMedia", "VLSafetensors", "VLCore"]),
        .testTarget(name: "VLConvertTests", dependencies: ["VLTestSupport", "VLConvert", "VLCheckpoint", "VLPackFormat", "VLCore"]),
        .testTarget(name: "VLQuantizeTests", dependencies: ["VLTestSamples", "VLQuantize", "VLQuant", "VLConvert", "VLPackFormat", "VLCore"]),
        .testTarget(name: "VLTokenizerTests", dependencies: ["VLTestSamples", "VLTokenizer", "VLCore"]),
        .testTarget(name: "VLGGUFTests", dependencies: [
            "VLTestSupport", "VLTestSamples", "VLGGUF", "VLQuantize", "VLPackFormat", "VLCore",
        ]),
        .testTarget(name: "VLVerifyTests", dependencies: ["VLVerify", "VLTestSamples", "VLInference", "VLQuantize", "VLPackFormat", "VLTokenizer", "VLCore"]),
        .testTarget(name: "VLGenerationTests", dependencies: ["VLGeneration", "VLCore"]),
        .testTarget(name: "VLInferenceTests", dependencies: [
            "VLTestSupport", "VLInference", "VLVerify", "VLPipeline", "VLGeneration", "VLConvert", "VLPackFormat", "VLQuant", "VLQuantize", "VLSafetensors", "VLCore", "CVLKernels",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: [.unsafeFlags(["-O"])]),
    ],
    swiftLanguageModes: [.v6]
)
