// A user's own Hummingbird app with the engine inside it, built against a version tag of the
// engine (scripts/consumer.sh runs it). The region between `README: begin` and `README: end` is
// the README's code block, word for word.
//
//     swift run -c release --package-path <this folder> EmbeddedServer efficientvit_m0.pth
//     curl --data-binary @cat.jpg http://127.0.0.1:8081/classify
import Foundation
import Hummingbird
import ViTEngine
import ViTServing

let weights = CommandLine.arguments.dropFirst().first ?? "efficientvit_m0.pth"
let port = Int(ProcessInfo.processInfo.environment["PORT"] ?? "") ?? 8081

// Load once; the service is Sendable and batches concurrent requests.
// README: begin
let classifier = try InferenceService(model: Model.load("m0", weights: weights))
let router = Router()
router.post("/classify") { request, _ -> String in
    let body = try await request.body.collect(upTo: 16 << 20)
    do {
        let top = try await classifier.classify(Data(body.readableBytesView), top: 3)
        return zip(top.labels, top.probabilities).map { "\($0)\t\($1)" }.joined(separator: "\n") + "\n"
    } catch let error as ServingError {  // a bad image, or overloaded / timed out (worth a retry)
        throw HTTPError(error.isRetryable ? .serviceUnavailable : .badRequest, message: error.description)
    }
}
// As a lifecycle service the classifier drains after the server on SIGTERM/SIGINT.
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                      services: [classifier])
try await app.runService()
// README: end
