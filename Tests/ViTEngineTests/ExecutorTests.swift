import CEngineSupport
import CKernels
import XCTest
@testable import ViTEngine

/// The executor's promises beyond parity: threads and batching never change a result, and
/// users get OpenBLAS's fast kernels without setting anything.
final class ExecutorTests: XCTestCase {
    func testResultsAreBitIdenticalForAnyThreadCount() throws {
        try checkThreadCountsAgree(model: "m2", height: 112, width: 144, seed: 3)
    }

    /// The 1×1 GEMMs run over the rows of the whole batch in blocks that span images; every
    /// output row must still come out exactly as it does when its image runs alone.
    func testAnImagesResultDoesNotDependOnItsBatch() throws {
        try checkBatchingAgrees(model: "m2", height: 96, width: 128, seed: 5)
    }

    /// The benchmark's token mixers (Linformer, linear, synthesized and proportional attention:
    /// one head per work item; FNet, ToMe's matching and merging, the Switch experts: one image;
    /// GFNet's global filter: one block of channels) keep the rule too.
    func testTokenMixersAreBitIdenticalForAnyThreadCountAndBatch() throws {
        for name in ["linformer_vit_tiny_patch16", "fnet_vit_tiny_patch16", "tome_vit_tiny_r8_patch16",
                     "linear_vit_tiny_patch16", "synthesizer_fd_vit_tiny_patch16", "synthesizer_fr_vit_tiny_patch16",
                     "switch_8_vit_tiny_patch16", "gfnet_tiny_patch16",
                     "performer_vit_tiny_patch16", "polysa_vit_tiny_patch16", "token_learner_vit_8_50_tiny_patch16",
                     "dynamic_vit_70_tiny_patch16"] {
            try checkThreadCountsAgree(model: name, height: 96, width: 96, seed: 7)
            try checkBatchingAgrees(model: name, height: 96, width: 96, seed: 8)
        }
        // The Nyströmformer needs a token per landmark (64): 101 tokens at 160², and a clear
        // refusal at 96² (37 tokens), where the reference's assertion fails.
        try checkThreadCountsAgree(model: "nystrom64_vit_tiny_patch16", height: 160, width: 160, seed: 7)
        try checkBatchingAgrees(model: "nystrom64_vit_tiny_patch16", height: 160, width: 160, seed: 8)
        XCTAssertThrowsError(try checkBatchingAgrees(model: "nystrom64_vit_tiny_patch16", height: 96, width: 96, seed: 8)) {
            XCTAssertTrue("\($0)".contains("at least 64 tokens (one per landmark): 37 at 96×96"), "\($0)")
        }
    }

    /// EfficientFormerV2's feature-map attention (query-row blocks of one image), upsampling and
    /// in-place depthwise residuals keep the rule at its one input size.
    func testEfficientFormerV2IsBitIdenticalForAnyThreadCountAndBatch() throws {
        try checkThreadCountsAgree(model: "efficientformerv2_s0", height: 224, width: 224, seed: 9)
        try checkBatchingAgrees(model: "efficientformerv2_s0", height: 224, width: 224, seed: 10)
    }

    /// `vit bench --profile-layers`: every layer by its reference name, the streamed stem's and
    /// the fused expansions' layers included, and the per-kind profile is their sum.
    func testLayerProfileTimesEveryLayer() throws {
        let model = try model("m0", seed: 2)
        for threads in [1, 2] {
            let session = try model.makeSession(batch: 2, height: 64, width: 64, threads: threads)
            let input = Tensor(shape: session.inputShape, values: Fixtures.manifest.generator.input(shape: session.inputShape, seed: 3))
            session.startProfiling()
            _ = try session.run(input)
            let layers = session.layerProfile
            XCTAssertEqual(layers.map(\.layer).prefix(2), ["patch_embed.conv1", "patch_embed.conv2"])
            XCTAssertEqual(layers.last?.layer, "head")
            for layer in layers { XCTAssertGreaterThan(layer.seconds, 0, "\(layer.layer), \(threads) threads") }
            let kinds = session.profile
            XCTAssertEqual(kinds.reduce(0) { $0 + $1.seconds }, layers.reduce(0) { $0 + $1.seconds }, accuracy: 1e-9)
            XCTAssertEqual(kinds.reduce(0) { $0 + $1.macs }, session.macs)
        }
    }

    /// A convolutional stem streamed by row bands (bands of each map pulled through all its
    /// layers, in whole images or row parts of one) gives the bits of running it layer by layer:
    /// the RGB stems vectorized over pixels into 8 (M0) and 24 (M5) channels, EfficientFormerV2's
    /// GELU stem through bands, row pairs after them; heights whose maps end in odd rows, and a
    /// 17×33 input whose last stem map is 2×3.
    func testStreamedStemGivesTheBitsOfLayerByLayer() throws {
        for (name, height, width) in [("m0", 70, 90), ("m0", 17, 33), ("m5", 224, 224), ("m5", 36, 50), ("efficientformerv2_s0", 224, 224)] {
            let model = try model(name, seed: 11)
            for (batch, threads) in [(1, 1), (1, 2), (3, 2)] {
                let graph = model.architecture.graph(batch: batch, height: height, width: width)
                let input = Fixtures.manifest.generator.input(shape: [batch, 3, height, width], seed: 12)
                let streamed = MemoryPlanner.plan(graph, threads: threads)
                let layerByLayer = MemoryPlanner.plan(graph, threads: threads, streamsConvolutionChain: false)
                XCTAssertNotNil(streamed.convolutionChain, name)
                XCTAssertNil(layerByLayer.convolutionChain, name)
                XCTAssertEqual(outputBits(model, graph, streamed, threads: threads, input: input),
                               outputBits(model, graph, layerByLayer, threads: threads, input: input),
                               "\(name) \(height)×\(width), batch \(batch), \(threads) threads")
            }
        }
    }

    /// Patch merging's expansion and stride-2 depthwise conv run image by image, the expanded map
    /// in a thread's scratch (batches of more images than threads, spread evenly), and give the
    /// bits of running the two nodes apart: at 224 and at a size whose maps have odd sides, on
    /// M0 (three heads' widths) and M5.
    func testFusedExpansionGivesTheBitsOfTwoNodes() throws {
        for (name, height, width) in [("m0", 224, 224), ("m0", 100, 150), ("m5", 224, 224)] {
            let model = try model(name, seed: 13)
            for (batch, threads, fuses) in [(2, 1, true), (4, 2, true), (3, 1, true), (1, 1, false), (3, 2, false)] {
                let graph = model.architecture.graph(batch: batch, height: height, width: width)
                let input = Fixtures.manifest.generator.input(shape: [batch, 3, height, width], seed: 14)
                let fused = MemoryPlanner.plan(graph, threads: threads)
                let apart = MemoryPlanner.plan(graph, threads: threads, fusesExpansions: false)
                // EfficientViT's two patch mergings.
                XCTAssertEqual(fused.expansionFusions.count, fuses ? 2 : 0, "\(name) batch \(batch), \(threads) threads")
                XCTAssertTrue(apart.expansionFusions.isEmpty)
                XCTAssertEqual(outputBits(model, graph, fused, threads: threads, input: input),
                               outputBits(model, graph, apart, threads: threads, input: input),
                               "\(name) \(height)×\(width), batch \(batch), \(threads) threads")
            }
        }
    }

    /// The logits' bits of one run of `graph` under `plan`.
    private func outputBits(_ model: Model, _ graph: Graph, _ plan: MemoryPlan, threads: Int, input: [Float]) -> [UInt32] {
        let executor = Executor(graph: graph, plan: plan, parameters: model.architecture.parameters,
                                pool: WorkerPool(threads: threads))
        input.withUnsafeBufferPointer { executor.run(input: $0) }
        return executor.read(graph.outputs[0]).values.map(\.bitPattern)
    }

    /// A batch that divides over the threads runs in shards, one executor per thread taking its
    /// images through the whole network; one that does not spreads each layer over the threads.
    /// Both give the single-thread bits.
    func testABatchThatDividesOverTheThreadsRunsInShards() throws {
        let model = try model("m0", seed: 4)
        let shape = [4, 3, 64, 80]
        let input = Tensor(shape: shape, values: Fixtures.manifest.generator.input(shape: shape, seed: 5))
        let single = try model.makeSession(batch: 4, height: 64, width: 80, threads: 1)
        let sharded = try model.makeSession(batch: 4, height: 64, width: 80, threads: 2)
        XCTAssertEqual(sharded.executors.count, 2)
        XCTAssertEqual(sharded.inputShape, shape)
        XCTAssertEqual(sharded.threads, 2)
        XCTAssertEqual(sharded.macs, single.macs)
        XCTAssertEqual(try sharded.run(input), try single.run(input))
        XCTAssertThrowsError(try sharded.run(Tensor(shape: [2, 3, 64, 80], values: [Float](repeating: 0, count: 2 * 3 * 64 * 80))))
        let layerwise = try model.makeSession(batch: 3, height: 64, width: 80, threads: 2)
        XCTAssertEqual(layerwise.executors.count, 1)
        XCTAssertEqual(layerwise.threads, 2)
    }

    private func model(_ name: String, seed: UInt64) throws -> Model {
        let info = try ModelRegistry.model(named: name)
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("w.safetensors").path
        try SafeTensorsWriter.write(Fixtures.generatedWeights(model: info, seed: seed), to: path)
        return try Model(info: info, weights: SafeTensorsFile(path: path))
    }

    /// Batch 2: in shards on 2 threads, layer by layer on 3.
    private func checkThreadCountsAgree(model name: String, height: Int, width: Int, seed: UInt64) throws {
        let model = try model(name, seed: seed)
        let shape = [2, 3, height, width]
        let input = Tensor(shape: shape, values: Fixtures.manifest.generator.input(shape: shape, seed: seed + 1))
        let single = try model.makeSession(batch: 2, height: height, width: width, threads: 1).run(input)
        for threads in [2, 3] {
            let many = try model.makeSession(batch: 2, height: height, width: width, threads: threads).run(input)
            XCTAssertEqual(many, single, "\(name): \(threads) threads")
        }
    }

    private func checkBatchingAgrees(model name: String, height: Int, width: Int, seed: UInt64) throws {
        let model = try model(name, seed: seed)
        let batch = 3
        let image = 3 * height * width
        let values = Fixtures.manifest.generator.input(shape: [batch, 3, height, width], seed: seed + 1)
        let together = try model.makeSession(batch: batch, height: height, width: width, threads: 2)
            .run(Tensor(shape: [batch, 3, height, width], values: values))
        let classes = together.logits.shape[1]
        // One image on two threads streams a convolutional stem in two halves of its rows.
        for threads in [1, 2] {
            let alone = try model.makeSession(batch: 1, height: height, width: width, threads: threads)
            for n in 0..<batch {
                let one = try alone.run(Tensor(shape: [1, 3, height, width],
                                               values: Array(values[n * image..<(n + 1) * image])))
                XCTAssertEqual(one.logits.values, Array(together.logits.values[n * classes..<(n + 1) * classes]),
                               "\(name): image \(n), \(threads) threads")
            }
        }
    }

    /// Swin's window attention and patch merging are cut into per-image work items (windows ×
    /// heads, rows): threads and batching leave every logit bit-identical. 196×224 pads and
    /// shifts along one axis only in the last stage.
    func testWindowAttentionIsBitIdenticalForAnyBatchAndThreadCount() throws {
        let info = try ModelRegistry.model(named: "swin_tiny_patch4_window7_224")
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("w.safetensors").path
        try SafeTensorsWriter.write(Fixtures.generatedWeights(model: info, seed: 7), to: path)
        let model = try Model(info: info, weights: SafeTensorsFile(path: path))
        let (batch, height, width) = (2, 196, 224)
        let image = 3 * height * width
        let values = Fixtures.manifest.generator.input(shape: [batch, 3, height, width], seed: 8)
        let input = Tensor(shape: [batch, 3, height, width], values: values)
        let together = try model.makeSession(batch: batch, height: height, width: width, threads: 1).run(input)
        XCTAssertEqual(try model.makeSession(batch: batch, height: height, width: width, threads: 2).run(input), together)
        let alone = try model.makeSession(batch: 1, height: height, width: width, threads: 2)
        let classes = together.logits.shape[1]
        for n in 0..<batch {
            let one = try alone.run(Tensor(shape: [1, 3, height, width], values: Array(values[n * image..<(n + 1) * image])))
            XCTAssertEqual(one.logits.values, Array(together.logits.values[n * classes..<(n + 1) * classes]), "image \(n)")
        }
    }

    /// OpenBLAS 0.3.21 may take an AVX-512 CPU for Haswell (it does for some AMD Zen parts);
    /// the engine then switches it to the SkylakeX kernels. Reproduced by forcing Haswell. The
    /// switch is for a user who set no OPENBLAS_CORETYPE (one who did is obeyed), so a setting in
    /// the test's own environment (some machines export OPENBLAS_CORETYPE=Haswell) is put aside.
    func testMisdetectedCoreIsSwitchedToAVX512Kernels() throws {
        try XCTSkipUnless(vit_cpu_has_avx512() != 0, "this CPU has no AVX-512: nothing to switch to")
        let before = String(cString: vit_blas_core_name())
        let userSetting = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        unsetenv("OPENBLAS_CORETYPE")
        defer {
            _ = vit_blas_choose_core(before)
            if let userSetting { setenv("OPENBLAS_CORETYPE", userSetting, 1) }
        }
        if let userSetting {
            setenv("OPENBLAS_CORETYPE", userSetting, 1)
            XCTAssertEqual(vit_blas_use_avx512_kernels(), 0, "OPENBLAS_CORETYPE=\(userSetting) set by the user is obeyed")
            unsetenv("OPENBLAS_CORETYPE")
        }
        XCTAssertEqual(vit_blas_choose_core("Haswell"), 1)
        XCTAssertEqual(String(cString: vit_blas_core_name()), "Haswell")
        XCTAssertEqual(vit_blas_use_avx512_kernels(), 1)
        XCTAssertEqual(String(cString: vit_blas_core_name()).lowercased(), "skylakex")
        XCTAssertNil(getenv("OPENBLAS_CORETYPE"), "the environment is left as it was")
    }
}
