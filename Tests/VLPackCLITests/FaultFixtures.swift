import Foundation
import VLTestSupport

/// Large inputs and child-process control for the fault tests (`FaultTests.swift`).
enum FaultFixtures {
    /// The opt-in switch: `make test-faults` sets it. The slow tests (GB-sized inputs, SIGKILL,
    /// tmpfs mounts) run only then.
    static var enabled: Bool { ProcessInfo.processInfo.environment["VLPACK_FAULT_TESTS"] == "1" }
    static var isRoot: Bool { getuid() == 0 }

    /// A fresh folder under `root` (/dev/shm for inputs: RAM, no disk wear), removed by the caller.
    static func folder(_ label: String, under root: String = "/dev/shm") throws -> String {
        let path = "\(root)/vlpack-faults-\(getpid())-\(label)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// An HF LLaMA folder (config.json, model.safetensors, the sample tokenizer.model) of `layers`
    /// layers at hidden 2048 / FFN 5632, F16: ~103 MB per layer, so 10 layers is a 1 GB input.
    /// The safetensors file is written by hand (8-byte LE header length, JSON, data); the data is a
    /// finite f16 pattern, not zeros, so the output is a real 1 GB of bytes.
    static func llamaFolder(layers: Int, in folder: String) throws -> String {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let hidden = 2048, ffn = 5632, vocab = 512
        var tensors: [(String, [Int])] = [("model.embed_tokens.weight", [vocab, hidden])]
        for i in 0..<layers {
            let p = "model.layers.\(i)."
            for n in ["q_proj", "k_proj", "v_proj", "o_proj"] { tensors.append((p + "self_attn.\(n).weight", [hidden, hidden])) }
            tensors += [
                (p + "mlp.gate_proj.weight", [ffn, hidden]), (p + "mlp.up_proj.weight", [ffn, hidden]),
                (p + "mlp.down_proj.weight", [hidden, ffn]), (p + "input_layernorm.weight", [hidden]),
                (p + "post_attention_layernorm.weight", [hidden]),
            ]
        }
        tensors += [("model.norm.weight", [hidden]), ("lm_head.weight", [vocab, hidden])]
        var members: [String] = []
        var offset = 0
        for (name, shape) in tensors {
            let n = shape.reduce(2, *)
            members.append(
                "\"\(name)\":{\"dtype\":\"F16\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + n)]}")
            offset += n
        }
        let json = Array("{\(members.joined(separator: ","))}".utf8)
        let path = folder + "/model.safetensors"
        guard FileManager.default.createFile(atPath: path, contents: nil), let out = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteUnknown)
        }
        defer { try? out.close() }
        try out.write(contentsOf: withUnsafeBytes(of: UInt64(json.count).littleEndian) { Data($0) } + Data(json))
        var rng = SplitMix64(seed: 9)
        // Finite halves below 1 (exponent < 15): no inf/NaN whatever the dtype rule.
        let block = Data(
            (0..<(1 << 19)).flatMap { _ -> [UInt8] in
                let h = UInt16(truncatingIfNeeded: rng.next()) & 0x3BFF
                return [UInt8(h & 0xFF), UInt8(h >> 8)]
            })
        var left = offset
        while left > 0 {
            let n = min(left, block.count)
            try out.write(contentsOf: block.prefix(n))
            left -= n
        }
        let config = """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": \(hidden), "intermediate_size": \(ffn),
             "num_hidden_layers": \(layers), "num_attention_heads": 16, "num_key_value_heads": 16, "vocab_size": \(vocab),
             "rms_norm_eps": 1e-06, "max_position_embeddings": 2048, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float16"}
            """
        try Data(config.utf8).write(to: URL(fileURLWithPath: folder + "/config.json"))
        try FileManager.default.copyItem(
            atPath: CLI.root.appendingPathComponent("Fixtures/samples/llama-hf/tokenizer.model").path,
            toPath: folder + "/tokenizer.model")
        return folder
    }

    /// `vlpack ARGUMENTS` started in the background, output discarded (the tests kill it or watch it).
    static func spawn(_ arguments: [String], environment: [String: String] = [:]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary!)
        p.arguments = arguments
        p.currentDirectoryURL = CLI.root
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Bytes the process has written so far (`wchar` of /proc/PID/io), or nil once it is gone.
    static func bytesWritten(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix("wchar:") }.flatMap { Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces)) }
    }

    /// Runs `vlpack ARGUMENTS` and, once it has written `threshold` bytes, truncates `victim` to
    /// `keep` bytes from this (another) process. Returns the finished child's status and stderr.
    static func runTruncating(
        _ victim: String, to keep: Int, afterWriting threshold: Int, _ arguments: [String]
    ) throws -> (status: Int32, stderr: String, truncated: Bool) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary!)
        p.arguments = arguments
        p.currentDirectoryURL = CLI.root
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        var truncated = false
        while p.isRunning {
            if let w = bytesWritten(p.processIdentifier), w >= threshold {
                truncated = truncate(victim, off_t(keep)) == 0
                break
            }
            usleep(1000)
        }
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, stderr, truncated)
    }

    /// A tmpfs of `megabytes` mounted at a fresh folder under /tmp; `unmount` removes it.
    static func mountTmpfs(megabytes: Int) throws -> String {
        let dir = try folder("tmpfs", under: "/tmp")
        let r = try Subprocess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", dir])
        guard r.status == 0 else {
            try? FileManager.default.removeItem(atPath: dir)
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSLocalizedDescriptionKey: "mount tmpfs: \(r.stderr)"])
        }
        return dir
    }

    static func unmount(_ dir: String) {
        _ = try? Subprocess.run("/bin/umount", [dir])
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Size and modification time of every file in `paths` (folders: their files), to show inputs
    /// were left untouched.
    static func fingerprint(_ paths: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for path in paths {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: path)).map { $0.map { path + "/" + $0 } } ?? [path]
            for f in files {
                var st = stat()
                if stat(f, &st) == 0 { out[f] = "\(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)" }
            }
        }
        return out
    }

    /// Names of visible AtomicFile temporaries in `folder`.
    static func strayTemporaries(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.contains(".vlpack-tmp-") }
    }
}
