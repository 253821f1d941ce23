import XCTest
@testable import ViTEngine

/// The planner's promise: values that are live at the same time never share memory, and the
/// arena is much smaller than giving every value its own slot.
final class MemoryPlannerTests: XCTestCase {
    private func model(_ name: String) throws -> Model {
        let info = try ModelRegistry.model(named: name)
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("w.safetensors").path
        try SafeTensorsWriter.write(Fixtures.generatedWeights(model: info, seed: 1), to: path)
        return try Model(info: info, weights: SafeTensorsFile(path: path))
    }

    /// Replays the graph and checks, at every node, that the slots of all live values and the
    /// node's scratch are pairwise disjoint (except an output placed on its dying residual).
    /// Returns the peak of live floats (values and scratch) over the nodes.
    @discardableResult
    private func assertNoLiveOverlap(_ graph: Graph, _ plan: MemoryPlan, threads: Int = 1, file: StaticString = #filePath, line: UInt = #line) -> Int {
        var peak = 0
        var lastUse = [Int](repeating: -1, count: graph.values.count)
        for (i, n) in graph.nodes.enumerated() {
            lastUse[n.input.index] = i
            if let r = n.residual { lastUse[r.index] = i }
            for v in n.auxiliary { lastUse[v.index] = i }
        }
        for o in graph.outputs { lastUse[o.index] = graph.nodes.count }
        var produced = [Int](repeating: -1, count: graph.values.count)
        produced[graph.input.index] = -1
        for (i, n) in graph.nodes.enumerated() { produced[n.output.index] = i }
        // Image-major nodes run interleaved (image after image through all of them): everything
        // they write and their scratch are live from the first to the last.
        let segment = plan.imageMajorNodes
        for i in segment {
            let v = graph.nodes[i].output.index
            produced[v] = segment.lowerBound
            lastUse[v] = max(lastUse[v], segment.upperBound - 1)
        }

        for (i, node) in graph.nodes.enumerated() {
            var ranges: [(String, Range<Int>)] = []
            // The input is the caller's buffer, outside the arena.
            for v in graph.values.indices where v != graph.input.index && produced[v] <= i && lastUse[v] >= i {
                if plan.inPlaceNodes.contains(i), v == node.residual?.index { continue }
                let start = plan.valueOffsets[v]
                ranges.append(("value \(v)", start..<(start + plan.slotCount(graph, ValueID(index: v), threads: threads))))
            }
            for j in segment.contains(i) ? Array(segment) : [i] where graph.nodes[j].scratchCount > 0 {
                let s = plan.scratchOffsets[j]
                ranges.append(("scratch \(j)", s..<(s + threads * graph.nodes[j].scratchCount)))
            }
            peak = max(peak, ranges.reduce(0) { $0 + $1.1.count })
            for a in ranges.indices {
                XCTAssertLessThanOrEqual(ranges[a].1.upperBound, plan.arenaCount, file: file, line: line)
                for b in ranges.indices where b > a {
                    XCTAssertFalse(ranges[a].1.overlaps(ranges[b].1),
                                   "node \(i) \(node.label): \(ranges[a].0) overlaps \(ranges[b].0)", file: file, line: line)
                }
            }
        }
        return peak
    }

    func testLiveValuesNeverOverlap() throws {
        // ToMe's token sizes are read by later nodes as auxiliary values only.
        for name in ["m0", "m5", "tome_vit_tiny_r8_patch16"] {
            let m = try model(name)
            for (n, h, w) in [(1, 224, 224), (3, 160, 288)] {
                let graph = m.architecture.graph(batch: n, height: h, width: w)
                let plan = MemoryPlanner.plan(graph)
                let peak = assertNoLiveOverlap(graph, plan)
                let everyValue = graph.values.reduce(0) { $0 + $1.count }
                XCTAssertLessThan(plan.arenaCount, everyValue, "\(name): liveness should reuse memory")
                // Fragmentation stays small: the arena is close to the most memory ever live at once.
                XCTAssertLessThanOrEqual(Double(plan.arenaCount), 1.25 * Double(peak) + 1024, name)
                XCTAssertFalse(plan.inPlaceNodes.isEmpty, "residual adds should run in place")
            }
        }
    }

    /// EfficientViT's FFN `x + pw2(relu(pw1(x)))` is one node whose hidden map is per-thread
    /// scratch of one block of rows, never an arena value, and whose output is accumulated over
    /// `x` itself (each block of rows is read in full before it is written).
    func testFeedForwardKeepsItsHiddenMapInScratchAndRunsInPlace() throws {
        let m = try model("m0")
        let graph = m.architecture.graph(batch: 2, height: 224, width: 224)
        let plan = MemoryPlanner.plan(graph, threads: 2)
        assertNoLiveOverlap(graph, plan, threads: 2)
        var feedForwards = 0
        for (i, node) in graph.nodes.enumerated() {
            guard case let .feedForward(layer) = node.operation else { continue }
            feedForwards += 1
            XCTAssertEqual(node.residual, node.input, node.label)
            XCTAssertTrue(plan.inPlaceNodes.contains(i), "\(node.label) should run in place")
            XCTAssertEqual(plan.valueOffsets[node.output.index], plan.valueOffsets[node.input.index], node.label)
            let rows = graph.values[node.input.index].shape.dropLast().reduce(1, *)
            // Up to 108 rows (a block of about 96 moved to 12-row tile boundaries): stage 0's
            // 392 rows take about a quarter of their hidden map.
            XCTAssertEqual(node.scratchCount, min(rows, 108) * layer.hidden, node.label)
        }
        // Two FFNs in each of M0's 6 blocks and in each of its 2 downsamplings.
        XCTAssertEqual(feedForwards, 16)
    }

    /// A convolutional stem runs image-major when the images divide over the threads: the maps
    /// between its convolutions take one image per thread, and nothing overlaps while images
    /// run through it one after another.
    func testStemRunsImageMajorInOneImagePerThread() throws {
        let m = try model("m0")
        for (batch, threads, imageMajor) in [(1, 1, true), (4, 2, true), (9, 2, true), (1, 2, false), (3, 2, false)] {
            let graph = m.architecture.graph(batch: batch, height: 224, width: 224)
            let plan = MemoryPlanner.plan(graph, threads: threads)
            assertNoLiveOverlap(graph, plan, threads: threads)
            guard imageMajor else {
                XCTAssertTrue(plan.imageMajorNodes.isEmpty, "batch \(batch), \(threads) threads")
                continue
            }
            XCTAssertEqual(plan.imageMajorNodes, 0..<4, "EfficientViT's four stem convolutions")
            let between = graph.nodes[0..<3].map(\.output)
            XCTAssertEqual(plan.perThreadValues, Set(between.map(\.index)))
            for v in between {
                XCTAssertEqual(plan.slotCount(graph, v, threads: threads), threads * graph.values[v.index].count / batch)
            }
        }
    }

    func testRunsAreRepeatableAndIndependentOfBatchPosition() throws {
        let m = try model("m0")
        let shape = [3, 3, 96, 112]
        let input = Tensor(shape: shape, values: Fixtures.manifest.generator.input(shape: shape, seed: 9))
        let session = try m.makeSession(batch: 3, height: 96, width: 112)
        let first = try session.run(input)
        XCTAssertEqual(try session.run(input), first, "a reused arena must not leak state between runs")
        let image = 3 * 96 * 112
        let single = try m.predict(Tensor(shape: [1, 3, 96, 112], values: Array(input.values[image..<(2 * image)])))
        XCTAssertEqual(single.logits.values, Array(first.logits.values[1000..<2000]))
    }
}
