import Testing
import VLCore

@Suite struct TensorEntryTests {
    @Test func checkedShapeProducts() {
        #expect(Checked.elementCount([2, 3, 4]) == 24)
        #expect(Checked.elementCount([]) == 1)
        #expect(Checked.elementCount([0, Int.max]) == 0)
        #expect(Checked.elementCount([Int.max, 2]) == nil)
        #expect(Checked.elementCount([-1, 2]) == nil)
        #expect(Checked.byteCount([1 << 62], itemSize: 4) == nil)
    }

    @Test(
        arguments: [
            // shape, strides, offset, storage elements, expected span (nil = out of bounds)
            ([2, 3], [3, 1], 0, 6, 6),
            ([2, 3], [3, 1], 1, 6, nil),
            ([3, 2], [1, 3], 0, 6, 6),  // transposed view
            ([0, 5], [5, 1], 6, 6, 0),  // empty at the end is fine
            ([0, 5], [5, 1], 7, 6, nil),
            ([], [], 5, 6, 1),  // 0-d scalar
            ([], [], 6, 6, nil),
            ([2], [Int.max], 0, 6, nil),  // stride overflow
        ] as [([Int], [Int], Int, Int, Int?)])
    func viewSpan(_ shape: [Int], _ strides: [Int], _ offset: Int, _ elements: Int, _ expected: Int?) {
        #expect(TensorEntry.viewSpan(shape: shape, strides: strides, offset: offset, storageElements: elements) == expected)
    }

    @Test func transposedViewIsGatheredRowMajor() {
        // storage [0,1,2,3,4,5] viewed as the transpose of a 2×3 matrix → [[0,3],[1,4],[2,5]]
        let storage: [Int32] = [0, 1, 2, 3, 4, 5]
        let location = StorageLocation(file: "t", key: "0", fileOffset: 0, byteCount: 24)
        let entry = TensorEntry(name: "t", dtype: .i32, shape: [3, 2], strides: [1, 3], storageOffset: 0, storage: location)
        #expect(!entry.isContiguous)
        let owner = OwnedBuffer(count: 0)
        let out = storage.withUnsafeBytes { TensorBytes.materialize(entry: entry, storage: $0, owner: owner) }
        let values = out.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        #expect(values == [0, 3, 1, 4, 2, 5])
        #expect(!out.isZeroCopy)
    }

    @Test func bigEndianStorageIsSwapped() {
        let storage: [UInt8] = [0x3F, 0x80, 0x00, 0x00]  // 1.0f big-endian
        let location = StorageLocation(file: "t", key: "0", fileOffset: 0, byteCount: 4, bigEndian: true)
        let entry = TensorEntry(name: "t", dtype: .f32, shape: [1], strides: [1], storageOffset: 0, storage: location)
        let out = storage.withUnsafeBytes { TensorBytes.materialize(entry: entry, storage: $0, owner: OwnedBuffer(count: 0)) }
        #expect(out.withUnsafeBytes { $0.loadUnaligned(as: Float.self) } == 1.0)
    }
}
