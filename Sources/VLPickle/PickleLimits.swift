/// Resource caps for one `PickleMachine.run`. Every cap is checked before the work it guards, so a
/// hostile pickle fails with a `PickleError` instead of exhausting memory or time.
///
/// Lengths of strings and bytes have no cap of their own: they are checked against the input bytes
/// that remain, before anything is allocated, so they can never cost more than the input's size.
public struct PickleLimits: Sendable {
    /// Opcodes executed, plus items or bytes copied by the builtins the machine evaluates (so a
    /// memoized 1 MB string encoded again and again still counts as work).
    public var maxOperations: Int
    /// Values on the stack, counting those hidden below MARKs.
    public var maxStackDepth: Int
    /// Open MARKs.
    public var maxMarkDepth: Int
    /// Memo indices must be below this; BINPUT/LONG_BINPUT/MEMOIZE at or above it fail.
    public var maxMemoEntries: Int
    /// Heap objects (tuples, lists, dicts, sets, globals, calls, placeholders).
    public var maxObjects: Int
    /// Levels of containers (tuple, list, dict, set, call arguments, persistent ids) on the longest
    /// path from the result down to a leaf, the root counting as level 1. Checked once, at STOP, over
    /// the finished heap, because mutation through the memo can deepen a container after it was
    /// placed inside another one.
    public var maxNestingDepth: Int

    public init(
        maxOperations: Int, maxStackDepth: Int, maxMarkDepth: Int, maxMemoEntries: Int, maxObjects: Int,
        maxNestingDepth: Int = PickleLimits.standardNestingDepth
    ) {
        self.maxOperations = maxOperations
        self.maxStackDepth = maxStackDepth
        self.maxMarkDepth = maxMarkDepth
        self.maxMemoEntries = maxMemoEntries
        self.maxObjects = maxObjects
        self.maxNestingDepth = maxNestingDepth
    }

    /// Real checkpoints nest fewer than 10 levels (trainer file → model → tensor → rebuild
    /// arguments → size tuple); 100 leaves room for unusual but honest files.
    public static let standardNestingDepth = 100

    /// Generous enough for multi-GB state_dicts (a tensor costs about 20 operations and 5 objects),
    /// small enough that the worst case stays within a few GB of RAM.
    public static let standard = PickleLimits(
        maxOperations: 50_000_000,
        maxStackDepth: 1_000_000,
        maxMarkDepth: 10_000,
        maxMemoEntries: 1 << 24,
        maxObjects: 50_000_000,
        maxNestingDepth: standardNestingDepth
    )
}
