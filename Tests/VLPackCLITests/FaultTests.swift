import Foundation
import Testing
import VLTestSupport

/// A failed command: non-zero exit and exactly one stderr line, `vlpack: error: ...`, that names
/// `path` and contains every one of `words`.
private func expectOneClearLine(
    _ r: Subprocess, naming path: String, _ words: [String],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    expectOneClearLine(status: r.status, stderr: r.stderr, naming: path, words, sourceLocation: sourceLocation)
}

private func expectOneClearLine(
    status: Int32, stderr: String, naming path: String, _ words: [String],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(status != 0 && status != 124, "exit \(status) (124: timed out)", sourceLocation: sourceLocation)
    let lines = stderr.split(separator: "\n")
    #expect(lines.count == 1, "\(stderr)", sourceLocation: sourceLocation)
    #expect(stderr.hasPrefix("vlpack: error: ") && stderr.contains(path), "\(stderr)", sourceLocation: sourceLocation)
    for w in words { #expect(stderr.contains(w), "\(w) missing: \(stderr)", sourceLocation: sourceLocation) }
}

/// `vlpack ARGUMENTS` under timeout(1), so a command that blocks (a FIFO opened for reading) fails
/// the test instead of hanging it; `asNobody` drops root first (root ignores permission bits).
private func vlpack(_ arguments: [String], asNobody: Bool = false) throws -> Subprocess {
    let drop = asNobody && FaultFixtures.isRoot ? ["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] : []
    return try Subprocess.run("/usr/bin/timeout", ["20"] + drop + [try #require(CLI.binary)] + arguments, in: CLI.root)
}

@Suite(.enabled(if: CLI.binary != nil, "build the vlpack executable first (make test does)"))
struct BadPathTests {
    /// Inputs that are not readable checkpoint files, for `inspect` and `convert`.
    @Test func badInputsAreOneClearLineAndNeverHang() throws {
        let dir = try FaultFixtures.folder("paths", under: "/tmp")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: false)
        #expect(mkfifo(dir + "/fifo.pth", 0o644) == 0)
        #expect(symlink(dir + "/nowhere.pth", dir + "/dangling.pth") == 0)
        try FileManager.default.copyItem(atPath: CLI.root.appendingPathComponent("Fixtures/good/single.safetensors").path, toPath: dir + "/secret.safetensors")
        #expect(chmod(dir + "/secret.safetensors", 0) == 0)
        let cases: [(path: String, words: [String], asNobody: Bool)] = [
            (dir + "/empty", ["emptyFolder"], false),
            (dir + "/fifo.pth", ["notARegularFile", "a FIFO"], false),
            (dir + "/dangling.pth", ["danglingSymlink", dir + "/nowhere.pth"], false),
            (dir + "/missing.pth", ["cannotOpen", "No such file or directory"], false),
            (dir + "/secret.safetensors", ["cannotOpen", "Permission denied"], true),
        ]
        for c in cases {
            expectOneClearLine(try vlpack(["inspect", c.path], asNobody: c.asNobody), naming: c.path, c.words)
            expectOneClearLine(try vlpack(["convert", c.path, "-o", dir + "/out.vlpack"], asNobody: c.asNobody), naming: c.path, c.words)
        }
        // `quantize` and `export` take a .vlpack file; a directory is not one.
        expectOneClearLine(try vlpack(["quantize", dir + "/empty", "-o", dir + "/q.vlpack", "--type", "q8_0"]), naming: dir + "/empty", ["a directory"])
        expectOneClearLine(try vlpack(["export", dir + "/fifo.pth", "--to", "gguf", "-o", dir + "/x.gguf"]), naming: dir + "/fifo.pth", ["a FIFO"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["dangling.pth", "empty", "fifo.pth", "secret.safetensors"])
    }

    /// `-o` into a folder that does not exist, or naming a directory or a device: refused before any
    /// work, one line naming the output.
    @Test func badOutputsAreOneClearLine() throws {
        let dir = try FaultFixtures.folder("outputs", under: "/tmp")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let convert = ["convert", "Fixtures/samples/llama-hf", "-o"]
        let model = dir + "/m.vlpack"
        #expect(try vlpack(convert + [model]).status == 0)
        let missing = dir + "/no/such/folder/out.vlpack"
        for command in [convert, ["quantize", model, "--type", "q8_0", "-o"], ["export", model, "--to", "gguf", "-o"]] {
            expectOneClearLine(try vlpack(command + [missing]), naming: missing, ["create", "No such file or directory"])
            expectOneClearLine(try vlpack(command + [dir]), naming: dir, ["notARegularFile", "a directory"])
            expectOneClearLine(try vlpack(command + ["/dev/null"]), naming: "/dev/null", ["notARegularFile", "a character device"])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["m.vlpack"])
    }
}

/// The slow, root-needing fault tests: `make test-faults` (VLPACK_FAULT_TESTS=1). Serialized: each
/// moves gigabytes and they share two cores.
@Suite(.serialized, .enabled(if: CLI.binary != nil && FaultFixtures.enabled, "set VLPACK_FAULT_TESTS=1 (make test-faults)"))
struct FaultTests {
    /// SIGKILL `convert` of a 1 GB input at 24 random moments (the named fallback in every fourth
    /// round), chosen by bytes written so they spread over the whole write and its commit: afterwards the target is absent, complete (passes `verify --integrity`) or, when it
    /// existed before, unchanged byte for byte; every stray temporary is gone after the next run.
    @Test func sigkillLeavesTheOldFileTheNewOneOrNothing() throws {
        let input = try FaultFixtures.folder("kill-in")
        let out = try FaultFixtures.folder("kill-out", under: "/tmp")
        defer {
            try? FileManager.default.removeItem(atPath: input)
            try? FileManager.default.removeItem(atPath: out)
        }
        _ = try FaultFixtures.llamaFolder(layers: 10, in: input)
        let target = out + "/model.vlpack"
        let convert = ["convert", input, "-o", target]
        let previous = out + "/previous.vlpack"
        #expect(try vlpack(["convert", "Fixtures/samples/eva_vit_g.pth", "--config", "Fixtures/samples/convert-config.json", "-o", previous]).status == 0)
        let old = try Data(contentsOf: URL(fileURLWithPath: previous))

        let started = Date()
        #expect(try vlpack(convert).status == 0)
        let full = Date().timeIntervalSince(started)
        let fullSize = try #require(FileManager.default.attributesOfItem(atPath: target)[.size] as? Int)
        #expect(fullSize > 1_000_000_000)

        var outcomes: [String: Int] = [:]
        var strays = 0
        let rounds = 24
        for round in 0..<rounds {
            let existed = round % 2 == 0
            try? FileManager.default.removeItem(atPath: target)
            if existed { try old.write(to: URL(fileURLWithPath: target)) }
            let named = round % 4 == 3
            // A random point of the write, by bytes written (uniform over the file whatever the
            // speed); one round in five lands after the last byte, in the fsync/link/rename window.
            let p = try FaultFixtures.spawn(convert, environment: named ? ["VLPACK_NAMED_TEMPORARIES": "1"] : [:])
            let tail = round % 5 == 4
            let threshold = tail ? fullSize : Int.random(in: 0..<fullSize)
            while p.isRunning, (FaultFixtures.bytesWritten(p.processIdentifier) ?? 0) < threshold { usleep(500) }
            if tail { usleep(UInt32.random(in: 0...UInt32(full * 0.2 * 1e6))) }
            let wasRunning = p.isRunning
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            strays += FaultFixtures.strayTemporaries(in: out).count

            let outcome: String
            if !FileManager.default.fileExists(atPath: target) {
                outcome = existed ? "lost the previous file" : "absent"
            } else if existed, try Data(contentsOf: URL(fileURLWithPath: target)) == old {
                outcome = "previous unchanged"
            } else {
                let size = try FileManager.default.attributesOfItem(atPath: target)[.size] as? Int
                let ok = try vlpack(["verify", "--integrity", target]).status == 0
                outcome = size == fullSize && ok ? "complete" : "PARTIAL"
            }
            outcomes[outcome + (wasRunning ? "" : " (had finished)"), default: 0] += 1
            #expect(["absent", "previous unchanged", "complete"].contains(outcome), "round \(round): \(outcome)")
        }
        // The next run sweeps what the killed ones left.
        #expect(try vlpack(convert).status == 0)
        #expect(FaultFixtures.strayTemporaries(in: out).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == ["model.vlpack", "previous.vlpack"])
        print(
            "SIGKILL: \(rounds) kills over a \(fullSize) byte conversion (\(String(format: "%.1f", full)) s): \(outcomes.sorted { $0.key < $1.key }); stray temporaries seen after kills: \(strays), after the next run: 0"
        )
    }

    /// Output into a full 64 MB tmpfs: one line naming the output and ENOSPC, exit 1, nothing left
    /// in the folder, inputs untouched; for convert, quantize and export.
    @Test(.enabled(if: FaultFixtures.isRoot, "mounting a tmpfs needs root"))
    func diskFullIsOneClearLineAndLeavesNothing() throws {
        let input = try FaultFixtures.folder("enospc-in")
        defer { try? FileManager.default.removeItem(atPath: input) }
        let llama = try FaultFixtures.llamaFolder(layers: 4, in: input + "/llama")
        let model = input + "/model.vlpack"
        #expect(try vlpack(["convert", llama, "-o", model]).status == 0)
        let mount = try FaultFixtures.mountTmpfs(megabytes: 64)
        defer { FaultFixtures.unmount(mount) }
        let before = FaultFixtures.fingerprint([llama, model])
        for (command, output) in [
            (["convert", llama, "-o"], mount + "/out.vlpack"),
            (["quantize", model, "--type", "q4_k_m", "-o"], mount + "/q.vlpack"),
            (["export", model, "--to", "gguf", "-o"], mount + "/llm.gguf"),
        ] {
            expectOneClearLine(try vlpack(command + [output]), naming: output, ["No space left on device"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: mount).isEmpty, "\(command[0]) left a file")
        }
        #expect(FaultFixtures.fingerprint([llama, model]) == before)
    }

    /// An input truncated by another process while it is being read: one line naming it, exit 1, no
    /// output; for convert (a safetensors source), quantize and export (a .vlpack source).
    @Test func inputTruncatedMidRunIsAnErrorNotACrash() throws {
        let input = try FaultFixtures.folder("shrink-in")
        defer { try? FileManager.default.removeItem(atPath: input) }
        let llama = try FaultFixtures.llamaFolder(layers: 4, in: input + "/llama")
        let source = llama + "/model.safetensors"
        let out = input + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)

        let r = try FaultFixtures.runTruncating(source, to: 64 << 20, afterWriting: 96 << 20, ["convert", llama, "-o", out + "/m.vlpack"])
        #expect(r.truncated, "convert finished before the truncation")
        expectOneClearLine(status: r.status, stderr: r.stderr, naming: source, ["changedWhileMapped"])

        // A fresh, whole source for the .vlpack that quantize and export then see shrink.
        let whole = try FaultFixtures.llamaFolder(layers: 4, in: input + "/whole")
        let model = input + "/model.vlpack"
        for (command, output) in [
            (["quantize", model, "--type", "q4_k_m", "-o"], out + "/q.vlpack"),
            (["export", model, "--to", "gguf", "-o"], out + "/llm.gguf"),
        ] {
            #expect(try vlpack(["convert", whole, "-o", model]).status == 0)
            let t = try FaultFixtures.runTruncating(model, to: 64 << 20, afterWriting: 32 << 20, command + [output])
            #expect(t.truncated, "\(command[0]) finished before the truncation")
            expectOneClearLine(status: t.status, stderr: t.stderr, naming: model, ["changedWhileMapped"])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty)
    }
}
