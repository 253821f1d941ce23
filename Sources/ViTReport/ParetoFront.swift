/// Which way an axis is better: more throughput and accuracy are better, less memory is.
public enum Preference: Sendable {
    case larger, smaller

    /// Whether `a` is at least as good as `b` on this axis.
    func atLeastAsGood(_ a: Double, _ b: Double) -> Bool { self == .larger ? a >= b : a <= b }
}

/// The Pareto front of a set of points on two axes: the points that no other point beats on one
/// axis while being at least as good on the other (the models worth choosing for some trade-off).
///
/// Ties are kept: identical points are all on the front (neither beats the other), and of two
/// points with the same x, only the ones with the best y are.
public enum ParetoFront {
    /// Indices into `points` of the points on the front, in input order.
    ///
    /// O(n²), which is plenty for a model zoo and obviously correct.
    public static func indices(of points: [(x: Double, y: Double)], x: Preference, y: Preference) -> [Int] {
        points.indices.filter { i in
            !points.indices.contains { j in j != i && dominates(points[j], points[i], x: x, y: y) }
        }
    }

    /// `a` dominates `b`: at least as good on both axes and strictly better on one.
    static func dominates(_ a: (x: Double, y: Double), _ b: (x: Double, y: Double), x: Preference, y: Preference) -> Bool {
        x.atLeastAsGood(a.x, b.x) && y.atLeastAsGood(a.y, b.y) && (a.x != b.x || a.y != b.y)
    }
}
