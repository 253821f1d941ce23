import Foundation
import ViTReport

/// Runs `vit bench --json` in a child process per measurement (so its peak RSS is its own), and
/// turns Ctrl-C into an orderly stop: SIGINT no longer kills this process; it sets a flag and
/// terminates the running child, and the caller writes what it has and exits.
///
/// `@unchecked Sendable`: the SIGINT handler runs on a Dispatch queue while the main thread
/// starts and waits for children; `childPID` and `interrupted` are only touched with `lock` held.
final class BenchChildProcess: @unchecked Sendable {
    enum Outcome {
        case measured(BenchResult)
        case failed(String)
        case interrupted
    }

    private let lock = NSLock()
    private var childPID: pid_t = 0
    private var interruptedFlag = false
    private var signalSource: DispatchSourceSignal?
    private let executable: URL

    init() {
        // The running binary itself, so the child is the same build as the parent.
        let proc = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        executable = FileManager.default.isExecutableFile(atPath: proc.path) ? proc
            : Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
    }

    /// Whether Ctrl-C was pressed (or SIGINT sent).
    var interrupted: Bool {
        lock.lock()
        defer { lock.unlock() }
        return interruptedFlag
    }

    /// From now on SIGINT stops the running child and sets ``interrupted`` instead of killing us.
    func catchInterrupts() {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [self] in
            lock.lock()
            interruptedFlag = true
            let pid = childPID
            lock.unlock()
            if pid > 0 { kill(pid, SIGTERM) }
        }
        source.resume()
        signalSource = source
    }

    /// Runs `vit bench` with `arguments` (plus `--json`) and decodes its one line of output.
    func measure(_ arguments: [String]) -> Outcome {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["bench", "--json"] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do {
            try process.run()
        } catch {
            return .failed("cannot start \(executable.path): \(error.localizedDescription)")
        }
        lock.lock()
        childPID = process.processIdentifier
        // A SIGINT between the start and this point found no child to stop: stop it now.
        if interruptedFlag { kill(childPID, SIGTERM) }
        lock.unlock()
        // vit bench writes one line to stdout and at most an error line to stderr, so reading
        // one pipe to its end before the other cannot fill the other's buffer.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        lock.lock()
        childPID = 0
        let interrupted = interruptedFlag
        lock.unlock()
        if interrupted { return .interrupted }

        let message = String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let how = process.terminationReason == .exit ? "exited with status \(process.terminationStatus)"
                : "was killed by signal \(process.terminationStatus)"
            return .failed(message.isEmpty ? "vit bench \(how)" : message)
        }
        let line = String(decoding: stdout, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        do {
            return .measured(try JSONDecoder().decode(BenchResult.self, from: Data(line.utf8)))
        } catch {
            return .failed("vit bench printed no measurement I can read (\(error)): '\(line.prefix(200))'")
        }
    }
}
