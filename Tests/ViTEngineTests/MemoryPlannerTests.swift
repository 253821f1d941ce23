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
        // A fused expansion runs at its depthwise node, reading its input there.
        let fused = plan.fusedPointwiseNodes
        var lastUse = [Int](repeating: -1, count: graph.values.count)
        for (i, n) in graph.nodes.enumerated() {
            let at = fused.contains(i) ? i + 1 : i
            lastUse[n.input.index] = at
            if let r = n.residual { lastUse[r.index] = at }
            for v in n.auxiliary { lastUse[v.index] = at }
        }
        for o in graph.outputs { lastUse[o.index] = graph.nodes.count }
        var produced = [Int](repeating: -1, count: graph.values.count)
        produced[graph.input.index] = -1
        for (i, n) in graph.nodes.enumerated() { produced[n.output.index] = i }
        // A streamed convolution chain runs interleaved (rows pulled through all its layers): its
        // output and its bands are live from its first node to its last, and the maps between
        // its layers are never whole (no slot).
        let chainNodes = plan.convolutionChain?.nodes ?? 0..<0
        var slotless: Set<Int> = [graph.input.index]
        if let last = chainNodes.last {
            produced[graph.nodes[last].output.index] = 0
            for i in chainNodes.dropLast() { slotless.insert(graph.nodes[i].output.index) }
        }
        // A fused expansion's map is one image per thread in its depthwise node's scratch.
        for i in fused { slotless.insert(graph.nodes[i].output.index) }

        for (i, node) in graph.nodes.enumerated() {
            var ranges: [(String, Range<Int>)] = []
            // The input is the caller's buffer, outside the arena.
            for v in graph.values.indices where produced[v] <= i && lastUse[v] >= i {
                XCTAssertEqual(plan.valueOffsets[v] < 0, slotless.contains(v), "value \(v)", file: file, line: line)
                if slotless.contains(v) || plan.inPlaceNodes.contains(i) && v == node.residual?.index { continue }
                let start = plan.valueOffsets[v]
                ranges.append(("value \(v)", start..<(start + graph.values[v].count)))
            }
            if let chain = plan.convolutionChain, chainNodes.contains(i) {
                let s = plan.chainScratchOffset
                ranges.append(("chain scratch", s..<(s + threads * chain.floatsPerThread)))
            } else if let fusion = plan.expansionFusions[i] {
                let s = plan.scratchOffsets[i]
                ranges.append(("expanded maps \(i)", s..<(s + threads * fusion.floatsPerThread)))
            } else if node.scratchCount > 0 {
                let s = plan.scratchOffsets[i]
                ranges.append(("scratch \(i)", s..<(s + threads * node.scratchCount)))
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

    /// A convolutional stem is streamed by row bands whatever the batch and threads: the maps
    /// between its convolutions take no slot, each thread's bands hold a few rows of each, and
    /// nothing overlaps. At batch 1, EfficientViT-M5's whole arena is smaller than its first map
    /// (112×112×24, 1.2 MB), which a layer-by-layer run must hold; at batch 16 the arena is the
    /// most memory ever live at once.
    func testStemIsStreamedByRowBands() throws {
        for name in ["m0", "m5"] {
            let m = try model(name)
            for (batch, threads) in [(1, 1), (16, 1), (4, 2), (1, 2), (3, 2)] {
                let graph = m.architecture.graph(batch: batch, height: 224, width: 224)
                let plan = MemoryPlanner.plan(graph, threads: threads)
                let peak = assertNoLiveOverlap(graph, plan, threads: threads)
                // The bands' block leaves room for the next stage's second map: no fragmentation.
                if batch == 16 { XCTAssertEqual(plan.arenaCount, peak, "\(name) batch 16") }
                let chain = try XCTUnwrap(plan.convolutionChain)
                XCTAssertEqual(chain.nodes, 0..<4, "EfficientViT's four stem convolutions")
                for node in graph.nodes[0..<3] { XCTAssertEqual(plan.valueOffsets[node.output.index], -1) }
                // Each band holds the input rows of one block of 8 output rows: 17 rows.
                XCTAssertEqual(chain.layers.dropFirst().map(\.bandRows), [17, 17, 17])
                // A thread's bands and kernel scratch: less than one image's first map.
                let firstMap = graph.values[graph.nodes[0].output.index].count / batch
                XCTAssertLessThan(chain.floatsPerThread, firstMap, name)
                let layerByLayer = MemoryPlanner.plan(graph, threads: threads, streamsConvolutionChain: false)
                XCTAssertLessThan(plan.arenaCount, layerByLayer.arenaCount, "\(name) batch \(batch), \(threads) threads")
                if name == "m5", batch == 1, threads == 1 { XCTAssertLessThan(plan.arenaCount, firstMap) }
            }
        }
    }

    /// Patch merging's expansion (conv1, 4× the stage's width) is read only by its depthwise
    /// conv, so the two run image by image and the expanded map is never whole: it takes no
    /// slot, each thread holds one image's map. At batch 16 that more than halves M4's arena,
    /// which is still the most memory ever live at once. A batch of one image a thread, or one
    /// whose images cannot be the work items, keeps the two nodes.
    func testExpansionMapIsOneImagePerThread() throws {
        for name in ["m0", "m4"] {
            let m = try model(name)
            for (batch, threads, fuses) in [(16, 1, true), (2, 1, true), (4, 2, true), (1, 1, false), (2, 2, false),
                                            (3, 2, false)] {
                let graph = m.architecture.graph(batch: batch, height: 224, width: 224)
                let plan = MemoryPlanner.plan(graph, threads: threads)
                let peak = assertNoLiveOverlap(graph, plan, threads: threads)
                let apart = MemoryPlanner.plan(graph, threads: threads, fusesExpansions: false)
                assertNoLiveOverlap(graph, apart, threads: threads)
                let context = "\(name) batch \(batch), \(threads) threads"
                let labels = plan.expansionFusions.keys.sorted().map { graph.nodes[$0].label }
                XCTAssertEqual(labels, fuses ? ["stages.1.downsample.patchmerge.conv2", "stages.2.downsample.patchmerge.conv2"] : [],
                               context)
                for (i, fusion) in plan.expansionFusions {
                    let map = graph.nodes[fusion.pointwise].output
                    XCTAssertEqual(graph.nodes[i].input, map)
                    XCTAssertEqual(plan.valueOffsets[map.index], -1, context)
                    XCTAssertEqual(fusion.floatsPerThread, graph.values[map.index].count / batch, context)
                }
                XCTAssertLessThanOrEqual(plan.arenaCount, apart.arenaCount, context)
                if batch == 16 {
                    XCTAssertEqual(plan.arenaCount, peak, context)
                    XCTAssertLessThan(2 * plan.arenaCount, apart.arenaCount, context)
                }
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
