// A user's program that classifies an image with the engine, built against a version tag of it
// (scripts/consumer.sh). The regions between `README: begin` and `README: end` are the README's
// code blocks, word for word (a test in the engine's suite compares them), so the README's code
// compiles. Run in a folder holding efficientvit_m0.pth and cat.jpg:
//
//     swift run -c release --package-path <this folder> Classify
import Foundation
import ViTHub
import ViTServing
// README: begin
import ViTEngine
import ViTImages

let model = try Model.load("m0", weights: "efficientvit_m0.pth")
let preprocessor = try ImagePreprocessor(model: model.info)
let image = try ImageDecoder().decode(path: "cat.jpg")                 // RGBImage, as PIL decodes it
let logits = try model.predict(preprocessor.tensor(for: [image])).logits
let top = TopClasses(logits: logits.values, k: 5, labels: ImageNetLabels.names)
// README: end

for (label, probability) in zip(top.labels, top.probabilities) {
    print("\(label)\t\(probability)")
}

/// Sessions, batches and the kernel tier.
func librarySketch(batch: Tensor) throws {
    // README: begin
    let model = try Model.load("m0", weights: "efficientvit_m0.pth")        // Sendable, share it
    let session = try model.makeSession(batch: 8, height: 224, width: 224)  // one per caller thread; runs on all cores
    let prediction = try session.run(batch)         // batch: Tensor [8, 3, 224, 224]
    print(prediction.logits.shape, prediction.features.shape)  // [8, 1000] [8, 192]
    print(session.arenaBytes)   // every intermediate tensor lives in this one planned arena

    print(KernelISA.current)    // the kernels' instruction set: the best this CPU runs
    try KernelISA.use(.portable)  // force a tier process-wide (as VIT_ISA=portable); throws for one the CPU lacks
    // README: end
}
try librarySketch(batch: preprocessor.tensor(for: Array(repeating: image, count: 8)))

/// Pretrained weights through the cache (downloads: run with --fetch).
func fetchPretrained() throws {
    // README: begin
    let cached = try WeightCache().fetch(ModelRegistry.model(named: "m4"), source: .official)  // downloads once
    let m4 = try Model.load("m4", weights: cached.path)      // .pth or .safetensors, detected from the bytes
    // README: end
    print(m4.info.name)
}
if CommandLine.arguments.contains("--fetch") { try fetchPretrained() }

/// The batching service behind `vit serve`, from plain async code.
func serve(imageBytes: Data) async throws {
    // README: begin
    let service = try InferenceService(model: Model.load("m0", weights: "efficientvit_m0.pth"))
    let top5 = try await service.classify(imageBytes)       // Data (JPEG/PNG); from any number of tasks
    let embedding = try await service.embed(imageBytes)     // [Float], the pooled pre-logits features
    // README: end
    print("service: \(top5.labels[0]), embedding of \(embedding.count)")
    await service.shutdown()
}
try await serve(imageBytes: Data(contentsOf: URL(fileURLWithPath: "cat.jpg")))
