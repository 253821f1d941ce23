import Foundation

/// A labelled scatter plot with a marked Pareto front, rendered as SVG: each point is a model,
/// named beside its dot; models on the front get filled dots joined by a line, the others hollow
/// dots (as in Nauen et al.'s plots, with one colour per group, e.g. the
/// model's class in their taxonomy).
public struct ScatterPlot: Sendable {
    public struct Point: Sendable {
        public var label: String
        public var x: Double
        public var y: Double
        /// Points of one group share a colour and a legend entry.
        public var group: String
        public var onFront: Bool

        public init(label: String, x: Double, y: Double, group: String, onFront: Bool) {
            self.label = label
            self.x = x
            self.y = y
            self.group = group
            self.onFront = onFront
        }
    }

    public var title: String
    public var subtitle: String
    public var xTitle: String
    public var yTitle: String
    public var xScale: Axis.Scale
    public var yScale: Axis.Scale
    /// What a hollow (dominated) dot means, for the legend.
    public var dominatedNote: String
    public var points: [Point]

    public var width = 800.0
    public var height = 560.0

    public init(title: String, subtitle: String, xTitle: String, yTitle: String, xScale: Axis.Scale,
                yScale: Axis.Scale, dominatedNote: String = "beaten by a point at least as good on both axes", points: [Point]) {
        self.dominatedNote = dominatedNote
        self.title = title
        self.subtitle = subtitle
        self.xTitle = xTitle
        self.yTitle = yTitle
        self.xScale = xScale
        self.yScale = yScale
        self.points = points
    }

    /// Colours for groups, in order of first appearance (distinct for colour-blind readers too).
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

    /// The plot area, in SVG pixels.
    private var left: Double { 76 }
    private var right: Double { width - 24 }
    /// Below the titles and the legend, which takes as many lines as its entries need.
    private var top: Double { 100 + 18 * Double(legendLayout.lines - 1) }
    private var bottom: Double { height - 62 }

    /// The plot as a standalone SVG document.
    public var svg: String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + element.xml()
    }

    /// The plot as an `<svg>` element (to embed in HTML).
    public var element: SVGElement {
        let shown = self.shown
        let xAxis = Axis(covering: shown.map(\.x), scale: xScale)
        let yAxis = Axis(covering: shown.map(\.y), scale: yScale)
        let px = { (x: Double) in left + xAxis.fraction(x) * (right - left) }
        let py = { (y: Double) in bottom - yAxis.fraction(y) * (bottom - top) }
        let groups = self.groups
        let colour = { (group: String) in Self.palette[(groups.firstIndex(of: group) ?? 0) % Self.palette.count] }

        var children: [SVGElement] = [
            SVGElement("rect", [("width", "100%"), ("height", "100%"), ("fill", "white")]),
            text(title, x: left, y: 24, size: 17, weight: "bold"),
            text(subtitle, x: left, y: 43, size: 12, fill: "#555"),
            text("Filled: on the Pareto front (the line). Hollow: \(dominatedNote).", x: left, y: 60,
                 size: 12, fill: "#555"),
        ]
        children += legend(colour: colour)
        children += grid(xAxis: xAxis, yAxis: yAxis, px: px, py: py)
        children.append(SVGElement("rect", [("x", n(left)), ("y", n(top)), ("width", n(right - left)),
                                             ("height", n(bottom - top)), ("fill", "none"), ("stroke", "#333")]))
        children.append(text(xTitle, x: (left + right) / 2, y: height - 18, size: 13, anchor: "middle"))
        children.append(SVGElement("text", [("transform", "translate(18 \(n((top + bottom) / 2))) rotate(-90)"),
                                            ("text-anchor", "middle"), ("font-size", "13")], text: yTitle))

        let front = shown.filter(\.onFront).sorted { ($0.x, $0.y) < ($1.x, $1.y) }
        if front.count > 1 {
            children.append(SVGElement("polyline", [
                ("points", front.map { "\(n(px($0.x))),\(n(py($0.y)))" }.joined(separator: " ")),
                ("fill", "none"), ("stroke", "#111"), ("stroke-width", "1.5"), ("class", "pareto-front"),
            ]))
        }
        var placer = LabelPlacer(bounds: (left, top, right, bottom))
        for p in shown { placer.reserveDot(x: px(p.x), y: py(p.y)) }
        for (a, b) in zip(front, front.dropFirst()) { placer.reserveLine(px(a.x), py(a.y), px(b.x), py(b.y)) }
        for p in shown {
            let c = colour(p.group)
            children.append(SVGElement("circle", [
                ("cx", n(px(p.x))), ("cy", n(py(p.y))), ("r", "5"),
                ("fill", p.onFront ? c : "white"), ("stroke", p.onFront ? "#111" : c), ("stroke-width", "2"),
                ("class", p.onFront ? "point on-front" : "point"),
            ], children: [SVGElement("title", text: "\(p.label): x = \(Axis.label(p.x)), y = \(Axis.label(p.y))")]))
        }
        for p in shown {
            let spot = placer.place(p.label, x: px(p.x), y: py(p.y))
            children.append(text(p.label, x: spot.x, y: spot.y, size: 11, anchor: spot.anchor, cssClass: "point-label"))
        }
        return SVGElement.document(width: width, height: height, children: children)
    }

    private func grid(xAxis: Axis, yAxis: Axis, px: (Double) -> Double, py: (Double) -> Double) -> [SVGElement] {
        var out: [SVGElement] = []
        for tick in xAxis.ticks() {
            let x = px(tick.value)
            out.append(line(x, top, x, bottom, stroke: tick.label.isEmpty ? "#f0f0f0" : "#dddddd"))
            out.append(line(x, bottom, x, bottom + (tick.label.isEmpty ? 3 : 6), stroke: "#333"))
            if !tick.label.isEmpty {
                out.append(text(tick.label, x: x, y: bottom + 20, size: 11, anchor: "middle", cssClass: "tick"))
            }
        }
        for tick in yAxis.ticks() {
            let y = py(tick.value)
            out.append(line(left, y, right, y, stroke: tick.label.isEmpty ? "#f0f0f0" : "#dddddd"))
            out.append(line(left - (tick.label.isEmpty ? 3 : 6), y, left, y, stroke: "#333"))
            if !tick.label.isEmpty {
                out.append(text(tick.label, x: left - 9, y: y + 4, size: 11, anchor: "end", cssClass: "tick"))
            }
        }
        return out
    }

    /// The points that can be drawn (finite, and positive on a log axis).
    private var shown: [Point] {
        points.filter { $0.x.isFinite && $0.y.isFinite && (xScale == .linear || $0.x > 0) }
    }

    /// Groups in order of first appearance.
    private var groups: [String] {
        shown.reduce(into: [String]()) { if !$0.contains($1.group) { $0.append($1.group) } }
    }

    /// Where each legend entry goes — a dot per group, then the front's line — wrapping to a new
    /// line when the next entry would pass the right edge. `nil` group: the front's entry.
    private var legendLayout: (entries: [(group: String?, x: Double, y: Double)], lines: Int) {
        var entries: [(group: String?, x: Double, y: Double)] = []
        var x = left, y = 84.0, lines = 1
        for group in groups.map(Optional.some) + [nil] {
            let width = 24 + Double((group ?? "Pareto front").count) * 7 + (group == nil ? 20 : 0)
            if x > left, x + width > right {
                x = left
                y += 18
                lines += 1
            }
            entries.append((group, x, y))
            x += width
        }
        return (entries, lines)
    }

    private func legend(colour: (String) -> String) -> [SVGElement] {
        legendLayout.entries.flatMap { entry -> [SVGElement] in
            let (x, y) = (entry.x, entry.y)
            guard let group = entry.group else {
                return [line(x, y - 4, x + 24, y - 4, stroke: "#111", width: 1.5), text("Pareto front", x: x + 30, y: y, size: 12)]
            }
            return [SVGElement("circle", [("cx", n(x + 5)), ("cy", n(y - 4)), ("r", "5"), ("fill", colour(group))]),
                    text(group, x: x + 14, y: y, size: 12)]
        }
    }

    private func n(_ v: Double) -> String { SVGElement.number(v) }

    private func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String,
                      width: Double = 1) -> SVGElement {
        SVGElement("line", [("x1", n(x1)), ("y1", n(y1)), ("x2", n(x2)), ("y2", n(y2)), ("stroke", stroke),
                            ("stroke-width", n(width))])
    }

    private func text(_ string: String, x: Double, y: Double, size: Double, anchor: String = "start",
                      weight: String = "normal", fill: String = "#111", cssClass: String? = nil) -> SVGElement {
        var attributes = [("x", n(x)), ("y", n(y)), ("font-size", n(size)), ("text-anchor", anchor),
                          ("font-weight", weight), ("fill", fill)]
        if let cssClass { attributes.append(("class", cssClass)) }
        return SVGElement("text", attributes, text: string)
    }
}

/// Puts point labels where they overlap neither other labels nor dots, trying eight spots around
/// each dot in turn (right first) and taking the least crowded one when none is free. Text width
/// is estimated (sans-serif at 11 px averages about 6.3 px a character): good enough to keep
/// names apart without measuring fonts.
struct LabelPlacer {
    typealias Box = (x0: Double, y0: Double, x1: Double, y1: Double)
    let bounds: (left: Double, top: Double, right: Double, bottom: Double)
    private var taken: [Box] = []

    init(bounds: (left: Double, top: Double, right: Double, bottom: Double)) { self.bounds = bounds }

    mutating func reserveDot(x: Double, y: Double) { taken.append((x - 6, y - 6, x + 6, y + 6)) }

    /// Keeps labels off a line segment (as small boxes every 6 px along it).
    mutating func reserveLine(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double) {
        let steps = max(1, Int((hypot(x1 - x0, y1 - y0) / 6).rounded(.up)))
        for i in 0...steps {
            let t = Double(i) / Double(steps)
            let x = x0 + t * (x1 - x0), y = y0 + t * (y1 - y0)
            taken.append((x - 2, y - 2, x + 2, y + 2))
        }
    }

    /// Where to draw `label` for the dot at (`x`, `y`): the text's anchor point and alignment.
    mutating func place(_ label: String, x: Double, y: Double) -> (x: Double, y: Double, anchor: String) {
        let w = Double(label.count) * 6.3, h = 12.0
        // (dx, dy of the baseline, anchor): right, left, above, below, then the four diagonals.
        let spots: [(Double, Double, String)] = [(9, 4, "start"), (-9, 4, "end"), (0, -10, "middle"), (0, 19, "middle"),
                                                 (7, -7, "start"), (7, 16, "start"), (-7, -7, "end"), (-7, 16, "end")]
        func box(_ s: (Double, Double, String)) -> Box {
            let x0 = s.2 == "start" ? x + s.0 : s.2 == "end" ? x + s.0 - w : x + s.0 - w / 2
            return (x0, y + s.1 - h + 2, x0 + w, y + s.1 + 2)
        }
        func cost(_ b: Box) -> Double {
            let outside = b.x0 < bounds.left || b.x1 > bounds.right || b.y0 < bounds.top || b.y1 > bounds.bottom
            return (outside ? 1e6 : 0) + taken.reduce(0) { total, t in
                total + max(0, min(b.x1, t.x1) - max(b.x0, t.x0)) * max(0, min(b.y1, t.y1) - max(b.y0, t.y0))
            }
        }
        let chosen = spots.first { cost(box($0)) == 0 } ?? spots.min { cost(box($0)) < cost(box($1)) } ?? spots[0]
        taken.append(box(chosen))
        return (x + chosen.0, y + chosen.1, chosen.2)
    }
}
