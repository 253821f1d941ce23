import Foundation

/// One axis of a plot: its domain (the data's range with a margin), linear or logarithmic, and
/// ticks at round values.
public struct Axis: Sendable {
    public enum Scale: Sendable {
        case linear, logarithmic
    }

    public struct Tick: Equatable, Sendable {
        public var value: Double
        /// Empty for a minor tick (a grid line without a label).
        public var label: String
    }

    public let scale: Scale
    /// The ends of the axis, in data units.
    public let lower: Double
    public let upper: Double

    /// An axis covering `values` with a margin of `margin` of the range at each end. Values must be
    /// finite (and positive on a logarithmic axis); with none, the axis spans 1 to 10.
    public init(covering values: [Double], scale: Scale, margin: Double = 0.08) {
        self.scale = scale
        let t = values.map { scale == .logarithmic ? log10($0) : $0 }.filter(\.isFinite)
        var lo = t.min() ?? 0, hi = t.max() ?? 1
        if hi - lo < 1e-9 {
            // One value (or all equal): a decade around it on a log axis, ±1 or ±5 % on a linear one.
            let pad = scale == .logarithmic ? 0.5 : max(1, abs(lo) * 0.05)
            lo -= pad
            hi += pad
        } else {
            let pad = (hi - lo) * margin
            lo -= pad
            hi += pad
        }
        lower = scale == .logarithmic ? pow(10, lo) : lo
        upper = scale == .logarithmic ? pow(10, hi) : hi
    }

    /// Where `value` falls along the axis, 0 at ``lower`` and 1 at ``upper``.
    public func fraction(_ value: Double) -> Double {
        switch scale {
        case .linear: (value - lower) / (upper - lower)
        case .logarithmic: (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
        }
    }

    /// Ticks inside the axis: 1-2-5 steps on a linear axis (at most ten). On a logarithmic axis
    /// spanning a decade or more, every integer multiple of a power of ten, labelled only at 1, 2
    /// and 5 up to 2.5 decades and only at the powers of ten beyond (the others are unlabelled
    /// minor ticks); over less than a decade, linear 1-2-5 steps (at most eight), since few
    /// powers of ten fall inside.
    public func ticks() -> [Tick] {
        let decades = log10(upper) - log10(lower)
        guard scale == .logarithmic, decades >= 1 else {
            return Self.linearTicks(lower, upper, atMost: scale == .linear ? 10 : 8)
        }
        let labelled: Set<Int> = decades < 2.5 ? [1, 2, 5] : [1]
        var ticks: [Tick] = []
        for exponent in Int(floor(log10(lower)))...Int(ceil(log10(upper))) {
            for m in 1...9 {
                let value = Double(m) * pow(10, Double(exponent))
                guard value >= lower * (1 - 1e-9), value <= upper * (1 + 1e-9) else { continue }
                ticks.append(Tick(value: value, label: labelled.contains(m) ? Self.label(value) : ""))
            }
        }
        return ticks
    }

    /// The finest 1-2-5 step that gives at most `atMost` ticks between `lower` and `upper`.
    static func linearTicks(_ lower: Double, _ upper: Double, atMost: Int) -> [Tick] {
        let raw = (upper - lower) / Double(atMost)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var ticks: [Tick] = []
        var k = ceil(lower / step)
        while k * step <= upper * (1 + 1e-12) + 1e-12 {
            ticks.append(Tick(value: k * step, label: label(k * step)))
            k += 1
        }
        return ticks
    }

    /// A short label for a round value: `0.05`, `2`, `150`, `2k`, `1.5M`.
    static func label(_ value: Double) -> String {
        func g(_ v: Double) -> String {
            var s = String(format: "%.3g", v)
            if s.contains("e") { s = String(format: "%.0f", v) }
            return s
        }
        let magnitude = abs(value)
        if magnitude >= 1e6 { return g(value / 1e6) + "M" }
        if magnitude >= 1e4 { return g(value / 1e3) + "k" }
        return g(value)
    }
}
