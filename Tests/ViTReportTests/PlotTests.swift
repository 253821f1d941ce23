import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import ViTReport

/// Collects the elements of an XML document; `parse` fails the test if it is not well-formed.
final class XMLElements: NSObject, XMLParserDelegate {
    var names: [String] = []
    var attributes: [[String: String]] = []
    var texts: [String] = []
    private var current = ""

    static func parse(_ xml: String, file: StaticString = #filePath, line: UInt = #line) -> XMLElements {
        let parser = XMLParser(data: Data(xml.utf8))
        let collector = XMLElements()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "not well-formed XML: \(String(describing: parser.parserError))", file: file, line: line)
        return collector
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        names.append(name)
        self.attributes.append(attributes)
        current = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text" { texts.append(current) }
        current = ""
    }

    func elements(_ name: String, class cssClass: String? = nil) -> [[String: String]] {
        zip(names, attributes).filter { $0.0 == name && (cssClass == nil || $0.1["class"] == cssClass) }.map(\.1)
    }
}

final class PlotTests: XCTestCase {
    func testLogAxisTicksAreRoundValuesInsideTheRange() {
        let axis = Axis(covering: [50, 1000], scale: .logarithmic)
        XCTAssertLessThan(axis.lower, 50)
        XCTAssertGreaterThan(axis.upper, 1000)
        let labelled = axis.ticks().filter { !$0.label.isEmpty }
        XCTAssertEqual(labelled.map(\.value), [50, 100, 200, 500, 1000])
        XCTAssertEqual(labelled.map(\.label), ["50", "100", "200", "500", "1000"])
        XCTAssertTrue(axis.ticks().contains { $0.value == 300 && $0.label.isEmpty }, "minor ticks between")
        XCTAssertEqual(axis.fraction(axis.lower), 0, accuracy: 1e-12)
        XCTAssertEqual(axis.fraction(axis.upper), 1, accuracy: 1e-12)
        // Equal ratios are equal distances on a log axis.
        XCTAssertEqual(axis.fraction(200) - axis.fraction(100), axis.fraction(1000) - axis.fraction(500), accuracy: 1e-12)

        // Many decades: only powers of ten are labelled.
        let wide = Axis(covering: [0.05, 20000], scale: .logarithmic).ticks().filter { !$0.label.isEmpty }
        XCTAssertEqual(wide.map(\.label), ["0.1", "1", "10", "100", "1000", "10k"])
        // Less than a decade: round linear steps, placed on the log scale.
        XCTAssertEqual(Axis(covering: [55, 150], scale: .logarithmic).ticks().map(\.label), ["60", "80", "100", "120", "140", "160"])
        XCTAssertGreaterThanOrEqual(Axis(covering: [61, 64], scale: .logarithmic).ticks().count, 2)
    }

    func testLinearAxisTicks() {
        let axis = Axis(covering: [63.2, 79.9], scale: .linear)
        XCTAssertEqual(axis.ticks().map(\.value), [62, 64, 66, 68, 70, 72, 74, 76, 78, 80])
        // A single value still gives a usable axis.
        let single = Axis(covering: [70], scale: .linear)
        XCTAssertLessThan(single.lower, 70)
        XCTAssertGreaterThan(single.upper, 70)
        XCTAssertEqual(Axis(covering: [300], scale: .logarithmic).fraction(300), 0.5, accuracy: 1e-12)
    }

    func testPlotIsWellFormedSVGWithNamesFrontAndAxes() throws {
        let report = Samples.report()
        let plot = ReportFiles.plot(.throughput, of: report)
        let xml = XMLElements.parse(plot.svg)
        XCTAssertEqual(xml.names.first, "svg")
        // Every model named on its point, tick labels, axis titles.
        for row in report.models { XCTAssertTrue(xml.texts.contains(row.model), row.model) }
        XCTAssertTrue(xml.texts.contains(Metric.throughput.axisTitle))
        XCTAssertTrue(xml.texts.contains("ImageNet-1k top-1 %, published"))
        XCTAssertFalse(xml.elements("text", class: "tick").isEmpty)
        // The machine's name, with characters XML must escape, survives.
        XCTAssertTrue(xml.texts.contains { $0.contains("Test CPU <fast> & \"quoted\"") })
        // Three models on the throughput front (slow_model is beaten by m2), joined by one line.
        XCTAssertEqual(xml.elements("circle", class: "point on-front").count, 3)
        XCTAssertEqual(xml.elements("circle", class: "point").count, 1)
        let line = try XCTUnwrap(xml.elements("polyline", class: "pareto-front").first)
        XCTAssertEqual(line["points"]?.split(separator: " ").count, 3)
    }

    func testPointsAreWhereTheirValuesSay() throws {
        let points = [ScatterPlot.Point(label: "a", x: 10, y: 60, group: "g", onFront: true),
                      ScatterPlot.Point(label: "b", x: 1000, y: 80, group: "g", onFront: true)]
        let plot = ScatterPlot(title: "t", subtitle: "s", xTitle: "x", yTitle: "y", xScale: .logarithmic,
                               yScale: .linear, points: points)
        let circles = XMLElements.parse(plot.svg).elements("circle", class: "point on-front")
        let cx = circles.compactMap { $0["cx"].flatMap(Double.init) }, cy = circles.compactMap { $0["cy"].flatMap(Double.init) }
        XCTAssertEqual(cx.count, 2)
        XCTAssertLessThan(cx[0], cx[1], "larger x is further right")
        XCTAssertGreaterThan(cy[0], cy[1], "larger y is higher up (smaller SVG y)")
    }

    func testLegendWrapsInsideThePlotWidth() throws {
        let groups = ["baseline (ViT)", "hybrid attention-CNN (EfficientViT)", "window (Swin)", "token mixing (PoolFormer)",
                      "sparse attention (Longformer)", "fixed attention (FNet)"]
        let points = groups.enumerated().map {
            ScatterPlot.Point(label: "m\($0.offset)", x: Double($0.offset + 1), y: Double(60 + $0.offset), group: $0.element,
                              onFront: true)
        }
        let plot = ScatterPlot(title: "t", subtitle: "s", xTitle: "x", yTitle: "y", xScale: .logarithmic,
                               yScale: .linear, points: points)
        let xml = XMLElements.parse(plot.svg)
        for group in groups { XCTAssertTrue(xml.texts.contains(group), group) }
        // Every legend entry starts left of the right edge with room for its text.
        let entries = zip(xml.texts, xml.elements("text")).filter { groups.contains($0.0) }
        XCTAssertEqual(entries.count, groups.count)
        for (name, attributes) in entries {
            let x = try XCTUnwrap(attributes["x"].flatMap(Double.init))
            XCTAssertLessThanOrEqual(x + Double(name.count) * 7, plot.width - 24, name)
        }
        XCTAssertGreaterThan(Set(entries.compactMap { $0.1["y"] }).count, 1, "more than one legend line")
        // The plot area starts below the last legend line.
        let frame = try XCTUnwrap(xml.elements("rect").first { $0["stroke"] == "#333" })
        let lastLegendLine = entries.compactMap { $0.1["y"].flatMap(Double.init) }.max() ?? 0
        XCTAssertGreaterThan(try XCTUnwrap(frame["y"].flatMap(Double.init)), lastLegendLine)
    }

    func testLabelsDoNotOverlapWhenThereIsRoom() {
        var placer = LabelPlacer(bounds: (0, 0, 800, 600))
        let dots = [(400.0, 300.0), (410.0, 302.0), (420.0, 298.0)]
        for d in dots { placer.reserveDot(x: d.0, y: d.1) }
        var boxes: [(Double, Double, Double, Double)] = []
        for (i, d) in dots.enumerated() {
            let label = "model_\(i)"
            let spot = placer.place(label, x: d.0, y: d.1)
            let w = Double(label.count) * 6.3
            let x0 = spot.anchor == "start" ? spot.x : spot.anchor == "end" ? spot.x - w : spot.x - w / 2
            boxes.append((x0, spot.y - 10, x0 + w, spot.y + 2))
        }
        for i in boxes.indices {
            for j in boxes.indices where i < j {
                let (a, b) = (boxes[i], boxes[j])
                XCTAssertTrue(a.2 <= b.0 || b.2 <= a.0 || a.3 <= b.1 || b.3 <= a.1, "labels \(i) and \(j) overlap")
            }
        }
    }
}
