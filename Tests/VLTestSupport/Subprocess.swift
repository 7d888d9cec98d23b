import Foundation

/// A child process run to completion: its exit status and everything it wrote.
public struct Subprocess: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String

    /// Runs `executable` with `arguments` (in `directory` when given; `input` on its stdin, then end of
    /// input) and waits for it. Both pipes are drained at once (stderr on a second thread), so a child
    /// that writes much to either cannot block on a full pipe.
    public static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil, input: String? = nil) throws -> Subprocess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let stdin = Pipe()
        if input != nil { process.standardInput = stdin }
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        let stderr = Drained()
        let group = DispatchGroup()
        let errHandle = err.fileHandleForReading
        DispatchQueue.global().async(group: group) { stderr.data = errHandle.readDataToEndOfFile() }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Subprocess(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr.data, as: UTF8.self))
    }

    /// `python3` from PATH with `arguments`.
    public static func python3(_ arguments: [String]) throws -> Subprocess {
        try run("/usr/bin/env", ["python3"] + arguments)
    }
}

/// The stderr bytes, written by the draining thread before `group.wait()` returns.
private final class Drained: @unchecked Sendable {
    var data = Data()
}
