import Foundation
import Testing
import VLCore
import VLInference
import VLPackFormat
import VLPipeline

/// Runs share one immutable model over one mapped file; each brings its own run state and thread
/// count. Concurrent runs must give exactly (bit for bit) what the same runs give one after another.
@Suite struct ConcurrentRunTests {
    static let video = "\(Samples.root)/Fixtures/media/hd709.mp4"

    @Test func twoPipelinesAtOnceMatchThemRunOneAfterTheOther() async throws {
        let pipeline = try Pipeline(pack: VLPackFile(path: Samples.keep))
        #expect(pipeline.vision != nil)
        let input = try MediaInput.video(Self.video, frames: 8, size: pipeline.imageSize)
        let contexts = [ExecutionContext(threads: 1), ExecutionContext(threads: 2)]
        let rounds = 4

        func outputs(_ context: ExecutionContext) throws -> [[Float]] {
            let o = try pipeline.stageOutputs(for: input, on: context)
            return o.names.map { o.values(of: $0)! }
        }
        let sequential = try contexts.map(outputs)
        #expect(sequential[0].count == VideoBranch.stageNames.count)

        let concurrent = try await withThrowingTaskGroup(of: (Int, [[[Float]]]).self) { group in
            for (i, context) in contexts.enumerated() {
                group.addTask { (i, try (0..<rounds).map { _ in try outputs(context) }) }
            }
            var byContext = [[[[Float]]]](repeating: [], count: contexts.count)
            for try await (i, runs) in group { byContext[i] = runs }
            return byContext
        }
        for (i, runs) in concurrent.enumerated() {
            #expect(runs.count == rounds)
            for run in runs { #expect(run == sequential[i], "threads \(contexts[i].threads)") }
        }
    }
}
