import Testing
import VLConvert

/// The GGUF export relies on `hfRow` undoing `metaRow` exactly.
@Suite struct RotaryPermutationTests {
    @Test(arguments: [2, 8, 64, 128])
    func hfRowInvertsMetaRow(headDim: Int) {
        let rows = 3 * headDim
        for r in 0..<rows {
            #expect(RotaryPermutation.hfRow(forMetaRow: RotaryPermutation.metaRow(forHFRow: r, headDim: headDim), headDim: headDim) == r)
        }
        #expect(Set((0..<rows).map { RotaryPermutation.metaRow(forHFRow: $0, headDim: headDim) }).count == rows)
    }
}
