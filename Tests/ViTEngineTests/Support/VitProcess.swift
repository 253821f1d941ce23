import Foundation

/// Runs the real `vit` executable, which SwiftPM builds next to the test bundle.
enum VitProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// A `vit` process started and not yet waited for (e.g. to signal it mid-run).
    struct Running {
        let process: Process
        let stdout: Pipe
        let stderr: Pipe

        /// Waits for the process and collects its output. (Its stderr must stay under a pipe
        /// buffer, 64 KiB, while stdout is read first — true of the commands tested.)
        func finish() -> Result {
            let out = stdout.fileHandleForReading.readDataToEndOfFile()
            let err = stderr.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Result(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                          stderr: String(decoding: err, as: UTF8.self))
        }
    }

    static var executable: URL {
        Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent("vit")
    }

    static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Running {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let running = Running(process: process, stdout: Pipe(), stderr: Pipe())
        process.standardOutput = running.stdout
        process.standardError = running.stderr
        try process.run()
        return running
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try start(arguments, environment: environment).finish()
    }
}
