import Foundation
import VLCore

/// Swift twin of `generate()` in Fixtures/quant/generate_quant.py (see its docstring). Integer ops
/// and correctly rounded f32 arithmetic only, so the floats are bit-identical to numpy's.
enum FixtureGenerator {
    enum Mode: String { case mixed, normal, heavy }

    static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inline(__always)
    static func mix64(_ v: UInt64) -> UInt64 {
        var z = v
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    static func stream(_ key: UInt64, _ index: UInt64) -> UInt64 { mix64(key &+ (index &+ 1) &* gamma) }

    /// Values [start, start + count) of the stream for `seed`.
    static func generate(seed: UInt64, start: Int, count: Int, mode: Mode, group: Int) -> [Float] {
        let ke = mix64(seed ^ 0xE1E7), kb = mix64(seed ^ 0xB10C)
        var out = [Float](repeating: 0, count: count)
        let twoM23: Float = 0x1p-23, twoM24: Float = 0x1p-24
        out.withUnsafeMutableBufferPointer { o in
            for k in 0..<count {
                let n = UInt64(start + k)
                let r1 = stream(ke, 2 * n), r2 = stream(ke, 2 * n + 1)
                let a1 = Int64(r1 >> 40), a2 = Int64((r1 >> 16) & 0xFF_FFFF)
                let a3 = Int64(r2 >> 40), a4 = Int64((r2 >> 16) & 0xFF_FFFF)
                let g = Float(a1 + a2 + a3 - 25_165_824) * twoM23
                let u = Float(a4) * twoM24
                switch mode {
                case .normal:
                    o[k] = g * 0x1p-5
                case .heavy:
                    o[k] = g / (u + 0.03125) * 0x1p-9
                case .mixed:
                    let b = n / UInt64(group)
                    let rb = stream(kb, b)
                    let kind = rb & 3
                    let e = Int((rb >> 8) & 31) - 24
                    let s = Float(bitPattern: UInt32(e + 127) << 23)
                    let v = Float(a1 - (1 << 23)) * twoM23
                    var x: Float = kind == 1 ? g / (u + 0.03125) : (kind == 2 ? v : g)
                    x = x * s
                    if kind == 3 && ((rb >> 16) & 0xFFFF) % UInt64(group) == n % UInt64(group) { x = x * 64 }
                    o[k] = x
                }
            }
        }
        return out
    }
}

/// Committed fixtures under Fixtures/quant (located from this file, like the other test targets).
enum QuantFixtures {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/quant")

    static func bytes(_ name: String) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: root.appendingPathComponent(name).path) else {
            Issue.record("missing fixture \(name)")
            return []
        }
        return [UInt8](data)
    }

    static func floats(_ name: String) -> [Float] {
        let b = bytes(name)
        return b.withUnsafeBytes { raw in (0..<(b.count / 4)).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) } }
    }

    static func json(_ name: String) -> JSONValue {
        let b = bytes(name)
        return (try? b.withUnsafeBytes { try JSONValue.parse($0) }) ?? .null
    }
}

func sha256Hex<T>(_ array: [T]) -> String {
    array.withUnsafeBytes { SHA256.hex(of: $0) }
}

import Testing
