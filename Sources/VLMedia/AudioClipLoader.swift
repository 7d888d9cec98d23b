import Foundation
import VLCore

/// The official `load_and_transform_audio_data` for one file (spec §4.3):
/// decode (`AudioDecoder`, resampling to `settings.sampleRate` while decoding) → clip times
/// (`ClipSampler`) → per clip, in clip order, **in-place** subtraction of the clip's mean over all
/// channels through overlapping views (a later clip sees samples already shifted by earlier ones) →
/// `KaldiFbank` on channel 0 → transpose to `[mel, frames]` → zero padding on the right (after the
/// log) or truncation to `targetLength` → `(x − mean) / std`.
///
/// Cost: the decode and resample, then the fbanks of the clips on up to `threads` threads (the mean
/// subtraction is sequential, as its order matters). Memory: the resampled waveform, one copy of
/// each clip's channel 0, and the output.
public struct AudioClipLoader: Sendable {
    public let path: String
    public var settings: MelSettings
    /// Threads for the clips' fbanks (the resampler uses one per channel).
    public var threads: Int

    public init(path: String, settings: MelSettings, threads: Int = 2) {
        self.path = path
        self.settings = settings
        self.threads = threads
    }

    public func load() throws(MediaError) -> MelClips {
        try settings.validate()
        let sampler = try ClipSampler(clipDuration: settings.clipDuration, clipsPerVideo: settings.clipsPerVideo, sampleRate: settings.sampleRate)
        let fbank = try KaldiFbank(sampleRate: settings.sampleRate, melBins: settings.melBins)
        let decoder = AudioDecoder(path: path)
        var audio = try decoder.decode(resamplingTo: settings.sampleRate)
        let clips = try sampler.clips(sampleCount: audio.frameCount, path: path)
        let inputs = try Self.shiftedClips(&audio, clips: clips, minimum: fbank.windowSize, path: path)
        let (values, frames) = Self.melSpectrograms(inputs, fbank: fbank, settings: settings, threads: threads)
        return MelClips(
            settings: settings, values: values, clips: clips, sourceSampleRate: audio.sourceSampleRate, sampleCount: audio.frameCount, frameCounts: frames)
    }

    /// `waveform -= waveform.mean()` for each clip view in order, over all channels of the clip's
    /// range, in place in `audio` (as the official loader shifts its waveform); returns each clip's
    /// channel 0 right after its own shift (what its fbank reads). Throws `.audioTooShort` for a clip
    /// shorter than `minimum` samples.
    public static func shiftedClips(_ audio: inout DecodedAudio, clips: [AudioClip], minimum: Int, path: String) throws(MediaError) -> [[Float]] {
        let n = audio.frameCount, channels = audio.channelCount
        var out: [[Float]] = []
        for clip in clips {
            let r = clip.range
            guard r.count >= minimum else { throw .audioTooShort(path: path, samples: r.count, minimum: minimum) }
            var sum = 0.0
            for c in 0..<channels { for i in r { sum += Double(audio.samples[c * n + i]) } }
            let mean = Float(sum / Double(r.count * channels))
            for c in 0..<channels { for i in r { audio.samples[c * n + i] -= mean } }
            out.append(Array(audio.samples[r]))
        }
        return out
    }

    /// fbank, transpose, pad/truncate and normalize each clip's (already mean-shifted) channel-0
    /// samples into `[clips, 1, fbank.melBins, settings.targetLength]` (`settings` supplies the length and
    /// the normalization); also returns each clip's frame count. Clips run on up to
    /// `threads` threads, each with its own FFT context.
    public static func melSpectrograms(_ inputs: [[Float]], fbank: KaldiFbank, settings: MelSettings, threads: Int) -> ([Float], [Int]) {
        let bins = fbank.melBins, target = settings.targetLength
        let mean = settings.mean, std = settings.std
        let padValue = (Float(0) - mean) / std
        var values = [Float](repeating: padValue, count: inputs.count * bins * target)
        let frames = inputs.map { fbank.frameCount(samples: $0.count) }
        let workers = max(1, min(threads, inputs.count))
        values.withUnsafeMutableBufferPointer { v in
            let shared = SharedPointer(v)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let fft = RealFFT(length: fbank.paddedSize)
                for s in stride(from: w, to: inputs.count, by: workers) {
                    let count = fbank.frameCount(samples: inputs[s].count)
                    var mel = [Float](repeating: 0, count: count * bins)
                    inputs[s].withUnsafeBufferPointer { x in mel.withUnsafeMutableBufferPointer { fbank.compute(x, into: $0, fft: fft) } }
                    guard let base = shared.pointer.baseAddress else { return }
                    let clip = base + s * bins * target
                    for t in 0..<min(count, target) {
                        for b in 0..<bins { clip[b * target + t] = (mel[t * bins + b] - mean) / std }
                    }
                }
            }
        }
        return (values, frames)
    }
}
