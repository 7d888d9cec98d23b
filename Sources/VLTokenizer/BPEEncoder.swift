/// sentencepiece's BPE segmentation (`bpe_model.cc`, `Model::Encode`) of normalized text.
///
/// The text is split into symbols — a whole user-defined piece (frozen: never merged) or one UTF-8
/// character — held in a doubly linked list. Every adjacent pair whose concatenation is a piece
/// (normal, user-defined or unused) is a candidate on a max-heap ordered by the piece's score, ties
/// going to the leftmost pair. The best candidate is merged unless it went stale (one side was merged
/// away or changed size); the merge adds the merged symbol's new pairs with its neighbours. A final
/// symbol that is an unused piece is split back into the two symbols it was last merged from,
/// recursively, so unused pieces never reach the output.
///
/// Cost: O(n log n) in the normalized length n — n symbols, at most n − 1 merges, each pushing at
/// most two candidates (O(n) heap operations of O(log n)); each candidate costs one hash lookup of
/// its bytes. The quadratic rescan of all pairs per merge is never done.
struct BPEEncoder: Sendable {
    /// normal, user-defined and unused pieces (the candidates of merges), and the others (control,
    /// unknown, byte), which the library looks up first when it names a final symbol.
    let mergeable: PieceTable
    let reserved: PieceTable
    let scores: [Float]
    let unused: [Bool]
    let matcher: UserDefinedMatcher
    let unknownID: Int32

    static let oneCharLength = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4]

    struct Candidate {
        var score: Float
        var left: Int32
        var right: Int32
        var size: Int32

        /// The library's order: higher score first, then the smaller left index.
        func before(_ o: Candidate) -> Bool { score > o.score || (score == o.score && left < o.left) }
    }

    /// The id a piece text maps to as `ModelInterface::PieceToId` does: reserved pieces first, then
    /// the mergeable ones, else the unknown id.
    func pieceID(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        reserved.find(bytes) ?? mergeable.find(bytes) ?? unknownID
    }

    /// Calls `emit(range, id)` for each output piece of `text` (normalized bytes), in order.
    func encode(_ text: UnsafeBufferPointer<UInt8>, emit: (Range<Int>, Int32) -> Void) {
        guard !text.isEmpty else { return }
        var state = MergeState(encoder: self, text: text)
        state.mergeAll()
        state.output(emit)
    }

    /// One call's symbols, candidate heap and unused-piece splits: a struct with mutating methods
    /// rather than closures over local arrays, so the arrays are not boxed and stay uniquely owned.
    private struct MergeState {
        let encoder: BPEEncoder
        let text: UnsafeBufferPointer<UInt8>
        var start: [Int32] = [], length: [Int32] = [], prev: [Int32] = [], next: [Int32] = []
        var frozen: [Bool] = []
        var heap: [Candidate] = []
        /// Unused piece id → the byte length of its left part at its latest merge (the library keeps the last).
        var splits: [Int32: Int32] = [:]

        init(encoder: BPEEncoder, text: UnsafeBufferPointer<UInt8>) {
            self.encoder = encoder
            self.text = text
            var i = 0
            while i < text.count {
                let user = encoder.matcher.isEmpty ? 0 : encoder.matcher.match(text, at: i)
                // The library's OneCharLen: the length a UTF-8 lead byte announces, clipped to what is left.
                let len = user > 0 ? user : min(text.count - i, BPEEncoder.oneCharLength[Int(text[i] >> 4)])
                start.append(Int32(i))
                length.append(Int32(len))
                frozen.append(user > 0)
                i += len
            }
            let count = start.count
            prev = (0..<count).map { Int32($0) - 1 }
            next = (0..<count).map { $0 + 1 < count ? Int32($0 + 1) : -1 }
            heap.reserveCapacity(2 * count)
        }

        mutating func push(_ c: Candidate) {
            heap.append(c)
            var k = heap.count - 1
            while k > 0 {
                let parent = (k - 1) / 2
                guard heap[k].before(heap[parent]) else { break }
                heap.swapAt(k, parent)
                k = parent
            }
        }

        mutating func pop() -> Candidate {
            let top = heap[0]
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                var k = 0
                while true {
                    let l = 2 * k + 1, r = l + 1
                    var best = k
                    if l < heap.count, heap[l].before(heap[best]) { best = l }
                    if r < heap.count, heap[r].before(heap[best]) { best = r }
                    if best == k { break }
                    heap.swapAt(k, best)
                    k = best
                }
            }
            return top
        }

        /// Pushes the pair (left, right) when neither is frozen and their concatenation is a piece.
        mutating func consider(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0, !frozen[Int(left)], !frozen[Int(right)] else { return }
            let size = length[Int(left)] + length[Int(right)]
            let lo = Int(start[Int(left)])
            guard let id = encoder.mergeable.find(UnsafeBufferPointer(rebasing: text[lo..<(lo + Int(size))])) else { return }
            push(Candidate(score: encoder.scores[Int(id)], left: left, right: right, size: size))
            if encoder.unused[Int(id)] { splits[id] = length[Int(left)] }
        }

        mutating func mergeAll() {
            for k in 1..<max(start.count, 1) { consider(Int32(k - 1), Int32(k)) }
            while !heap.isEmpty {
                let top = pop()
                let l = Int(top.left), r = Int(top.right)
                guard length[l] > 0, length[r] > 0, length[l] + length[r] == top.size else { continue }
                length[l] = top.size
                length[r] = 0
                next[l] = next[r]
                if next[r] >= 0 { prev[Int(next[r])] = top.left }
                consider(prev[l], top.left)
                consider(top.left, next[l])
            }
        }

        /// The final symbols in order, unused pieces split back (depth-first, left part first).
        func output(_ emit: (Range<Int>, Int32) -> Void) {
            var pending: [Range<Int>] = []
            var s: Int32 = 0
            while s >= 0 {
                let lo = Int(start[Int(s)])
                pending.append(lo..<(lo + Int(length[Int(s)])))
                while let range = pending.popLast() {
                    let id = encoder.pieceID(UnsafeBufferPointer(rebasing: text[range]))
                    if encoder.unused[Int(id)], let leftLength = splits[id] {
                        let mid = range.lowerBound + Int(leftLength)
                        pending.append(mid..<range.upperBound)
                        pending.append(range.lowerBound..<mid)
                    } else {
                        emit(range, id)
                    }
                }
                s = next[Int(s)]
            }
        }
    }
}
