// Audio preprocessing timings (Docs/BENCHMARKS.md, "Audio preprocessing"):
//   vlmedia-audio-bench load FILE [REPEAT] [THREADS]   whole AudioClipLoader.load (decode → mel)
//   vlmedia-audio-bench fbank FILE [REPEAT] [THREADS]  only the 8 clips' fbank + pad + normalize
// Prints one JSON line: best and median seconds over REPEAT runs. Settings: `.imageBindHuge`.
import Foundation
import VLMedia

let args = CommandLine.arguments
guard args.count >= 3, ["load", "fbank"].contains(args[1]) else {
    FileHandle.standardError.write(Data("usage: vlmedia-audio-bench load|fbank FILE [REPEAT] [THREADS]\n".utf8))
    exit(2)
}
let mode = args[1], path = args[2]
let repeats = args.count > 3 ? Int(args[3]) ?? 5 : 5
let threads = args.count > 4 ? Int(args[4]) ?? 2 : 2
let settings = MelSettings.imageBindHuge

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

do {
    var times: [Double] = []
    var shape: [Int] = []
    switch mode {
    case "load":
        for _ in 0..<repeats {
            times.append(
                try seconds {
                    let mel = try AudioClipLoader(path: path, settings: settings, threads: threads).load()
                    shape = mel.shape
                })
        }
    default:
        var audio = try AudioDecoder(path: path).decode(resamplingTo: settings.sampleRate)
        let clips = try ClipSampler(clipDuration: settings.clipDuration, clipsPerVideo: settings.clipsPerVideo, sampleRate: settings.sampleRate)
            .clips(sampleCount: audio.frameCount)
        let fbank = try KaldiFbank(sampleRate: settings.sampleRate, melBins: settings.melBins)
        let inputs = try AudioClipLoader.shiftedClips(&audio, clips: clips, minimum: fbank.windowSize, path: path)
        for _ in 0..<repeats {
            times.append(
                seconds {
                    let (values, _) = AudioClipLoader.melSpectrograms(inputs, fbank: fbank, settings: settings, threads: threads)
                    shape = [values.count]
                })
        }
    }
    let sorted = times.sorted()
    print("{\"mode\": \"\(mode)\", \"best\": \(sorted[0]), \"median\": \(sorted[sorted.count / 2]), \"shape\": \(shape)}")
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
