import Testing

/// `--help` teaches: every command prints its usage on stdout and exits 0 (not an error line).
@Suite(.enabled(if: CLI.binary != nil, "build the vlpack executable first (make test does)"))
struct HelpCommandTests {
    @Test(arguments: [
        [], ["inspect"], ["convert"], ["quantize"], ["verify"], ["export"], ["embed"], ["bench"], ["tokenize"],
        ["detokenize"], ["generate"],
    ])
    func helpPrintsUsageAndExitsZero(_ command: [String]) throws {
        let r = try CLI.run(command + ["--help"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("USAGE: vlpack"), "\(r.stdout)")
        #expect(!r.stderr.contains("error"), "\(r.stderr)")
    }

    @Test func helpSubcommandWorksToo() throws {
        let r = try CLI.run(["help", "generate"])
        #expect(r.status == 0 && r.stdout.contains("--max-new-tokens"), "\(r.stdout)\(r.stderr)")
    }

    @Test func unknownOptionIsAUsageError() throws {
        let r = try CLI.run(["inspect", "Fixtures/good/dtypes.pt", "--no-such-option"])
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains("Unknown option"), "\(r.stderr)")
    }
}
