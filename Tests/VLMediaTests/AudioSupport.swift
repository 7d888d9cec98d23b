import Foundation
import Testing
import VLCore
import VLSafetensors
@testable import VLMedia

/// The audio references (Fixtures/media/reference/audio, made by make_audio_reference.py).
struct AudioReference {
    let file: SafetensorsFile

    init(_ stem: String) throws {
        file = try SafetensorsFile(path: MediaFixtures.path("reference/audio/\(stem).safetensors"))
    }

    var metadata: [String: String] { file.metadata }
    func int(_ key: String) -> Int { Int(metadata[key] ?? "") ?? -1 }
    func double(_ key: String) -> Double { Double(metadata[key] ?? "") ?? .nan }
    func ints(_ key: String) -> [Int] { (try? JSONDecoder().decode([Int].self, from: Data((metadata[key] ?? "[]").utf8))) ?? [] }
    /// `[int(start·sr), int(end·sr)]` per clip, from pytorchvideo's sampler.
    var clipRanges: [[Int]] {
        let data = Data((metadata["clips"] ?? "[]").utf8)
        let rows = (try? JSONSerialization.jsonObject(with: data)) as? [[Any]] ?? []
        return rows.map { [($0[0] as? Int) ?? -1, ($0[1] as? Int) ?? -1] }
    }

    func has(_ name: String) -> Bool { file.entries.contains { $0.name == name } }

    func shape(_ name: String) -> [Int] { file.entries.first { $0.name == name }?.shape ?? [] }

    /// An f32 tensor's values (row-major).
    func floats(_ name: String) throws -> [Float] {
        let entry = try #require(file.entries.first { $0.name == name }, "no tensor \(name)")
        #expect(entry.dtype == .f32)
        return try file.bytes(of: entry).withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        }
    }
}

/// Max and mean absolute difference of two equally long arrays.
struct AudioDifference: CustomStringConvertible {
    let maxAbsolute: Double
    let meanAbsolute: Double
    let count: Int

    init<A: Collection<Float>, B: Collection<Float>>(_ a: A, _ b: B) {
        precondition(a.count == b.count, "lengths \(a.count) vs \(b.count)")
        var m = 0.0, s = 0.0
        for (x, y) in zip(a, b) {
            let d = abs(Double(x) - Double(y))
            m = max(m, d)
            s += d
        }
        maxAbsolute = m
        meanAbsolute = a.isEmpty ? 0 : s / Double(a.count)
        count = a.count
    }

    var description: String { "max \(maxAbsolute), mean \(meanAbsolute) over \(count)" }
}

/// The audio acceptance tolerances.
enum AudioTolerance {
    /// VLMedia's resampler against torchaudio.functional.resample.
    static let resampleMaxAbsolute = 1e-5
    /// `input.mel` against the official loader.
    static let melMaxAbsolute = 1e-3
    static let melMeanAbsolute = 1e-4
    /// Decoded samples against the reference decoder (PyAV's FFmpeg 8 build vs FFmpeg 5.1 here):
    /// lossless formats must match exactly; lossy decoders may round differently between builds.
    static let decodeMaxAbsolute = 1e-5
    /// kaldi.fbank on a synthetic waveform, in log-mel units (before the /9.138 normalization). The
    /// worst bins are the lowest mel filters, whose energy sits ~10¹⁰ below the frame's peak (after
    /// DC removal and preemphasis) and so carries float32 FFT rounding in both libraries: measured
    /// 4.8e-4 there, 3e-6 on average.
    static let fbankMaxAbsolute = 1e-3
    static let fbankMeanAbsolute = 1e-5
    /// A mel filter weight against torchaudio's float32 bank: one ulp of a mel value (logf rounding)
    /// over the filter spacing (see `melFiltersMatchTorchaudio`).
    static let melFilterMaxAbsolute = 1.5e-5
}
