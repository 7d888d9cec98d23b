import ArgumentParser
import CVLKernels
import Foundation
import Logging
import VLCore

@main
struct VLPack: ParsableCommand {
    /// Ctrl-C (and SIGTERM/SIGHUP) must not leave half-written outputs: the handlers unlink every
    /// temporary file still open, then let the signal terminate the process as usual.
    ///
    /// Failures are reported here, once for every subcommand: usage errors and exit codes the way
    /// ArgumentParser reports them; anything else (a rule that failed in a file, an I/O error) as one
    /// line naming the file, the rule and the detail, exit status 1. By the time an error arrives
    /// here the stack has unwound, so open outputs have already removed their temporaries.
    static func main() {
        vl_cleanup_install_signal_handlers()
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
        } catch  where isArgumentParserError(error) {
            // `--help` arrives here too: parseAsRoot returns a help command whose run throws.
            exit(withError: error)
        } catch {
            FileHandle.standardError.write(Data("vlpack: error: \(error)\n".utf8))
            exit(withError: ExitCode(1))
        }
    }

    /// Errors ArgumentParser defines (help requests, usage errors, ValidationError, ExitCode,
    /// CleanExit — some of them internal types), which it reports itself.
    private static func isArgumentParserError(_ error: any Error) -> Bool {
        String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
    }

    static let configuration = CommandConfiguration(
        commandName: "vlpack",
        abstract: "Read, convert, quantize, verify and run Video-LLaMA checkpoints without running pickle code.",
        discussion: """
            VLPack reads PyTorch checkpoints (torch.save zip and legacy formats) with a closed pickle \
            interpreter that never imports or calls anything, safetensors files, and sharded sets \
            (pytorch_model.bin.index.json, model.safetensors.index.json).

            It turns the released Video-LLaMA files into one verified .vlpack file, quantizes it, and \
            checks it with a built-in CPU reference inference path.

            A typical session (inspect, convert, check every checksum, quantize, embed a video with \
            every intermediate, prove parity with a PyTorch reference, export the LLM for llama.cpp):
              vlpack inspect eva_vit_g.pth
              vlpack convert eva_vit_g.pth blip2_pretrained_flant5xxl.pth VL_LLaMA_2_7B_Finetuned.pth \\
                  imagebind_huge.pth AL_LLaMA_2_7B_Finetuned.pth llama-2-7b-chat-hf/ -o vl2-7b.vlpack
              vlpack verify --integrity vl2-7b.vlpack
              vlpack quantize vl2-7b.vlpack -o vl2-7b-q4km.vlpack --type q4_k_m
              vlpack embed vl2-7b.vlpack --video clip.mp4 -o clip.safetensors
              vlpack verify vl2-7b.vlpack --reference ref.safetensors
              vlpack run vl2-7b-q4km.vlpack --video clip.mp4 --prompt "What is happening in the video?"
              vlpack chat vl2-7b-q4km.vlpack --video clip.mp4
              vlpack export vl2-7b.vlpack --to gguf -o llm.gguf
              vlpack tokenize vl2-7b.vlpack --text "[INST] hi [/INST]" --bos --json

            Every command takes --help; most take --json for scripts.
            """,
        subcommands: [
            Inspect.self, Convert.self, Quantize.self, Verify.self, Export.self, Embed.self, Bench.self, Tokenize.self, Detokenize.self, Generate.self,
            Run.self, Chat.self,
        ]
    )
}

/// Options every subcommand shares.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Log what VLPack is doing to stderr.")
    var verbose = false

    func makeLogger(_ label: String) -> Logger {
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .debug : .warning
        return logger
    }
}

/// Prints one warning line to stderr; the command goes on.
func warn(_ message: String) {
    FileHandle.standardError.write(Data("vlpack: warning: \(message)\n".utf8))
}
