import CVLKernels
import Testing
import VLCore
import VLTestSupport

/// FIPS 180-4 example vectors (published digests, not computed by VLPack).
@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func knownVectors(_ input: String, _ digest: String) {
        let bytes = Array(input.utf8)
        #expect(bytes.withUnsafeBytes { SHA256.hex(of: $0) } == digest)
    }

    @Test func millionAsStreamedInOddChunks() {
        var h = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 997)
        var left = 1_000_000
        while left > 0 {
            let n = min(left, chunk.count)
            chunk.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            left -= n
        }
        #expect(h.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

/// The accelerated compression function (SHA extensions, when the CPU has them) must equal the
/// plain C one on random blocks and states.
@Suite struct SHA256KernelTests {
    @Test func acceleratedEqualsReference() {
        var rng = SplitMix64(seed: 0x5A256)
        for _ in 0..<2000 {
            var block = [UInt8](repeating: 0, count: 64)
            for i in 0..<64 { block[i] = UInt8(truncatingIfNeeded: rng.next()) }
            var state = (0..<8).map { _ in UInt32(truncatingIfNeeded: rng.next()) }
            var expected = state
            vl_sha256_compress_ref_for_testing(&expected, block)
            // One full SHA-256 update of exactly one block runs the dispatched compression.
            var ctx = vl_sha256_ctx()
            vl_sha256_init(&ctx)
            withUnsafeMutableBytes(of: &ctx.state) { raw in
                state.withUnsafeBytes { raw.copyMemory(from: $0) }
            }
            vl_sha256_update(&ctx, block, 64)
            let got = withUnsafeBytes(of: ctx.state) { Array($0.bindMemory(to: UInt32.self)) }
            state = expected
            #expect(got == state)
        }
    }
}
