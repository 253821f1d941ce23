import Foundation

/// The efficiency study of a set of models on one machine: what was measured, how, and the
/// published figures it is read against.
public struct Report: Codable, Sendable, Equatable {
    /// How far the run got. Files are rewritten after every model, so a report can be read while
    /// the run is still going, and one stopped with Ctrl-C keeps the models measured before.
    public enum Status: String, Codable, Sendable {
        case running, complete, interrupted
    }

    public var status: Status
    /// When the run started (ISO 8601).
    public var started: String
    /// The command line that made it.
    public var command: String
    public var machine: Machine
    public var settings: Settings
    /// What the weights were, in words (placeholder weights measure speed and memory only).
    public var weightsNote: String
    /// Models measured so far, in the order they were measured.
    public var models: [ModelRow]
    /// Models that could not be measured, with the error.
    public var failures: [Failure]
    /// Models selected but not (yet) measured.
    public var pending: [String]

    public init(status: Status, started: String, command: String, machine: Machine, settings: Settings,
                weightsNote: String, models: [ModelRow] = [], failures: [Failure] = [], pending: [String] = []) {
        self.status = status
        self.started = started
        self.command = command
        self.machine = machine
        self.settings = settings
        self.weightsNote = weightsNote
        self.models = models
        self.failures = failures
        self.pending = pending
    }

    enum CodingKeys: String, CodingKey {
        case status, started, command, machine, settings, weightsNote = "weights_note", models, failures, pending
        case paretoFronts = "pareto_fronts"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(status: try c.decode(Status.self, forKey: .status), started: try c.decode(String.self, forKey: .started),
                  command: try c.decode(String.self, forKey: .command), machine: try c.decode(Machine.self, forKey: .machine),
                  settings: try c.decode(Settings.self, forKey: .settings),
                  weightsNote: try c.decode(String.self, forKey: .weightsNote),
                  models: try c.decode([ModelRow].self, forKey: .models),
                  failures: try c.decode([Failure].self, forKey: .failures),
                  pending: try c.decode([String].self, forKey: .pending))
    }

    /// Encodes the fields and, derived from them for readers of the JSON, `pareto_fronts`: for
    /// each metric, the names of the models on its front, in measurement order.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encode(started, forKey: .started)
        try c.encode(command, forKey: .command)
        try c.encode(machine, forKey: .machine)
        try c.encode(settings, forKey: .settings)
        try c.encode(weightsNote, forKey: .weightsNote)
        try c.encode(models, forKey: .models)
        try c.encode(failures, forKey: .failures)
        try c.encode(pending, forKey: .pending)
        let fronts = Metric.allCases.map { metric in
            let names = front(metric)
            return (metric.rawValue, models.map(\.model).filter { names.contains($0) })
        }
        try c.encode(Dictionary(uniqueKeysWithValues: fronts), forKey: .paretoFronts)
    }

    /// The machine the measurements were taken on.
    public struct Machine: Codable, Sendable, Equatable {
        /// CPU model name (`/proc/cpuinfo`), or `unknown`.
        public var cpu: String
        /// Cores this process may use.
        public var cores: Int
        public var memoryBytes: Int
        public var operatingSystem: String

        public init(cpu: String, cores: Int, memoryBytes: Int, operatingSystem: String) {
            self.cpu = cpu
            self.cores = cores
            self.memoryBytes = memoryBytes
            self.operatingSystem = operatingSystem
        }

        enum CodingKeys: String, CodingKey {
            case cpu, cores, memoryBytes = "memory_bytes", operatingSystem = "operating_system"
        }

        /// This machine.
        public static func current() -> Machine {
            let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
            let name = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
                .flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) }
            let info = ProcessInfo.processInfo
            return Machine(cpu: name ?? "unknown", cores: info.activeProcessorCount,
                           memoryBytes: Int(clamping: info.physicalMemory),
                           operatingSystem: info.operatingSystemVersionString)
        }
    }

    /// How the measurements were taken.
    public struct Settings: Codable, Sendable, Equatable {
        public var threads: Int
        /// Measured seconds per model and batch size.
        public var durationSeconds: Double
        public var warmupSeconds: Double
        public var maxBatch: Int
        /// The batch search stops when the throughput gains this fraction or less.
        public var minGain: Double
        public var memoryLimitBytes: Int

        public init(threads: Int, durationSeconds: Double, warmupSeconds: Double, maxBatch: Int, minGain: Double,
                    memoryLimitBytes: Int) {
            self.threads = threads
            self.durationSeconds = durationSeconds
            self.warmupSeconds = warmupSeconds
            self.maxBatch = maxBatch
            self.minGain = minGain
            self.memoryLimitBytes = memoryLimitBytes
        }

        enum CodingKeys: String, CodingKey {
            case threads, durationSeconds = "duration_seconds", warmupSeconds = "warmup_seconds"
            case maxBatch = "max_batch", minGain = "min_gain", memoryLimitBytes = "memory_limit_bytes"
        }
    }

    /// A model that could not be measured.
    public struct Failure: Codable, Sendable, Equatable {
        public var model: String
        public var error: String

        public init(model: String, error: String) {
            self.model = model
            self.error = error
        }
    }

    /// The models on the Pareto front of `metric` against published top-1, by name.
    public func front(_ metric: Metric) -> Set<String> {
        let rated = models.filter { $0.published.top1 != nil }
        let points = rated.map { (x: metric.value(of: $0), y: $0.published.top1!) }
        return Set(ParetoFront.indices(of: points, x: metric.preference, y: .larger).map { rated[$0].model })
    }
}
