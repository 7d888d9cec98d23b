import Foundation
import Logging
import VLCore
import VLPackFormat

/// Writes a `ConversionPlan` as one `.vlpack` file, streaming one tensor at a time.
///
/// Memory: the writer's 1 MiB buffer, the streamer's scratch chunk, and the pages of the tensor in
/// flight (input pages are released after each tensor). Source files are hashed for provenance on a
/// second thread while tensors are written. The output appears atomically (temp file, fsync,
/// rename); any failure, including Ctrl-C, leaves nothing behind.
public struct Converter {
    public static let version = "0.3.0"

    public struct Options: Sendable {
        public var alignment: VLPackAlignment = .cacheLine
        public var allowOverflow = false
        public init() {}
    }

    /// What a finished conversion wrote.
    public struct Result: Sendable {
        public let summary: VLPackWriteSummary
        public let sources: [(path: String, size: Int, sha256: String)]
    }

    public let plan: ConversionPlan
    public let options: Options
    public let logger: Logger

    public init(plan: ConversionPlan, options: Options = Options(), logger: Logger) {
        self.plan = plan
        self.options = options
        self.logger = logger
    }

    /// Converts into `output`. `progress` is called after every chunk with (bytes done, total, tensor).
    /// `encoding`, when given, decides each tensor's storage and encodes its bytes (`convert --quantize`).
    public func run(
        output: String, progress: ((Int, Int, String) -> Void)? = nil,
        encoding: (any TensorEncoding)? = nil
    ) throws -> Result {
        let tokenizerBytes = try plan.tokenizer.map { path in try Array(Data(contentsOf: URL(fileURLWithPath: path))) }
        let encoded = try encoding?.plan(plan.tensors)
        var tensorPlans = plan.tensors.enumerated().map { i, t in
            VLPackTensorPlan(
                name: t.name, storage: encoded?.tensors[i].storage ?? .plain(t.dtype), shape: t.shape,
                source: TensorOrigin(
                    file: t.sources.map(\.entry.storage.file).joined(separator: "+"),
                    name: t.sourceEntry.name, dtype: t.sourceEntry.dtype.rawValue),
                quant: encoded?.tensors[i].quant)
        }
        if let tokenizerBytes {
            tensorPlans.append(
                VLPackTensorPlan(
                    name: TensorPrefix.tokenizerTensor, dtype: .u8, shape: [tokenizerBytes.count],
                    source: plan.tokenizer.map { TensorOrigin(file: $0, name: "tokenizer.model", dtype: "U8") }))
        }

        // Provenance digests are computed alongside the writing; the header reserves their width.
        let hasher = ProvenanceHasher(files: plan.files)
        hasher.start()
        let parts = headerParts(provenance: hasher.placeholder())
        let writer = try VLPackWriter(
            path: output, plan: tensorPlans, parts: parts, alignment: options.alignment,
            inputs: plan.files, headerSlack: encoded?.headerSlack ?? 0)
        let total = plan.tensors.reduce(0) { $0 + $1.byteCount } + (tokenizerBytes?.count ?? 0)
        var done = 0
        for (index, tensor) in plan.tensors.enumerated() {
            var streamer = TensorStreamer(tensor: tensor, allowOverflow: options.allowOverflow)
            var views: [TensorBytes] = []
            var quant: JSONValue?
            try writer.write(tensor: tensor.name) { write in
                let produce = { (sink: (UnsafeRawBufferPointer) throws -> Void) throws in
                    views = try streamer.stream { chunk in
                        try sink(chunk)
                        done += chunk.count
                        progress?(done, total, tensor.name)
                    }
                }
                if let encoding {
                    quant = try encoding.encode(tensor, index: index, produce: produce, write: write)
                } else {
                    try produce(write)
                }
            }
            if let quant { try writer.setQuant(quant, forTensor: tensor.name) }
            if streamer.overflowCount > 0 {
                logger.warning("\(tensor.name): \(streamer.overflowCount) values overflowed to infinity (--allow-overflow)")
            }
            views.forEach { $0.releasePages() }
        }
        if let tokenizerBytes {
            try writer.write(tensor: TensorPrefix.tokenizerTensor, contents: tokenizerBytes)
            done += tokenizerBytes.count
            progress?(done, total, TensorPrefix.tokenizerTensor)
        }
        let digests = try hasher.wait()
        let summary = try writer.finish(provenance: Self.provenance(digests))
        return Result(summary: summary, sources: digests)
    }

    private func headerParts(provenance: JSONValue) -> VLPackHeaderParts {
        let components = JSONValue.object(
            plan.components.map { c in
                (c.name, ["family": JSONValue(c.family.rawValue), "input": JSONValue(c.input), "config": .object(c.config)])
            })
        var tokenizer: JSONValue = [:]
        if plan.tokenizer != nil {
            // <ImageHere>/<AudioHere> follow the embedding rows (Vicuna v0's [PAD] is row 32000).
            let vocab = plan.components.first { $0.name == ComponentName.llm.rawValue }?.config.first { $0.key == "vocab" }?.value.int ?? 0
            tokenizer = [
                "kind": "sentencepiece",
                "model_tensor": JSONValue(TensorPrefix.tokenizerTensor),
                "added_tokens": [["content": "<ImageHere>", "id": JSONValue(vocab)], ["content": "<AudioHere>", "id": JSONValue(vocab + 1)]],
                "special_tokens": .array(plan.specialTokens),
            ]
        }
        var metadata: [(key: String, value: JSONValue)] = []
        if let t = plan.template { metadata.append(("template", JSONValue(t))) }
        metadata.append(("skipped", .array(plan.skipped.map { ["file": JSONValue($0.file), "name": JSONValue($0.name), "reason": JSONValue($0.reason)] })))
        return VLPackHeaderParts(
            converter: ["name": "vlpack", "version": JSONValue(Self.version)], components: components,
            tokenizer: tokenizer, provenance: provenance, metadata: .object(metadata))
    }

    static func provenance(_ sources: [(path: String, size: Int, sha256: String)]) -> JSONValue {
        ["sources": .array(sources.map { ["name": JSONValue($0.path), "size": JSONValue($0.size), "sha256": JSONValue($0.sha256)] })]
    }
}

/// Hashes the source files on a background thread (SHA-256, streamed through the mapping, pages
/// released as it goes) so provenance costs no wall time next to the I/O-bound conversion.
final class ProvenanceHasher: @unchecked Sendable {
    let files: [String]
    private var result: Swift.Result<[(path: String, size: Int, sha256: String)], any Error>?
    private let done = DispatchSemaphore(value: 0)
    /// Bytes hashed between page releases.
    static let window = 64 << 20

    init(files: [String]) { self.files = files }

    func start() {
        Thread.detachNewThread { [self] in
            result = Swift.Result { try files.map(Self.hash) }
            done.signal()
        }
    }

    func wait() throws -> [(path: String, size: Int, sha256: String)] {
        done.wait()
        return try result!.get()
    }

    /// The provenance part with every digest zeroed: the same length as the real one. Sizes are the
    /// files' own, through symbolic links (stat, as the mapping sees them): a Hugging Face cache
    /// snapshot is a folder of links, and a link's own size would give a shorter header than finish's.
    func placeholder() -> JSONValue {
        Converter.provenance(
            files.map { path in
                var status = stat()
                return (path, stat(path, &status) == 0 ? Int(status.st_size) : 0, String(repeating: "0", count: 64))
            })
    }

    static func hash(_ path: String) throws -> (path: String, size: Int, sha256: String) {
        let file = try MappedFile(path: path)
        var sha = SHA256()
        var offset = 0
        while offset < file.count {
            let n = min(window, file.count - offset)
            // Copied under the SIGBUS guard: a source truncated meanwhile throws, naming it.
            try file.read(offset: offset, length: n) { sha.update($0) }
            file.release(offset: offset, length: n)
            offset += n
        }
        return (path, file.count, sha.finalizeHex())
    }
}
