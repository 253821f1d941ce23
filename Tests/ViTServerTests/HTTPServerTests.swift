import Foundation
import ViTEngine
import ViTImages
import Prometheus
import ViTServer
@testable import ViTServing
import XCTest

/// The real HTTP server on 127.0.0.1, called over TCP: every endpoint and every error answer.
final class HTTPServerTests: XCTestCase {
    /// Two models: M0 with the fixture weights (the default) and M1 with placeholder weights.
    private func startTwoModelServer(_ configuration: ServingConfiguration = ServingConfiguration(),
                                     server: ServerConfiguration = ServerConfiguration(port: 0)) async throws -> RunningServer {
        let registry = PrometheusCollectorRegistry()
        var configuration = configuration
        configuration.metricsFactory = InferenceServer.metricsFactory(registry: registry)
        let m0 = try InferenceService(model: Fixtures.m0, configuration: configuration)
        let m1 = try InferenceService(model: Model.placeholder(ModelRegistry.model(named: "m1")), configuration: configuration)
        return try await RunningServer.start([m0, m1], configuration: server, registry: registry)
    }

    func testClassifyEmbedModelsHealthAndMetrics() async throws {
        let server = try await startTwoModelServer()
        let local = try Fixtures.service()
        defer { Task { await local.shutdown() } }

        // A raw JPEG body; the default top 5 of the default model.
        let jpeg = Fixtures.image("chelsea.jpg")
        let classify = try await server.send("POST", "/v1/classify", headers: ["Content-Type": "image/jpeg"], body: jpeg)
        XCTAssertEqual(classify.status, 200, classify.text)
        XCTAssertEqual(classify.headers["content-type"], "application/json")
        XCTAssertEqual(classify.json["model"] as? String, "efficientvit_m0")
        let expected = try await local.classify(jpeg, top: 5)
        assertClasses(classify, equal: expected)

        // ?top=3, a PNG as the `image` field of a multipart upload.
        let png = Fixtures.image("astronaut.png")
        let (multipart, boundary) = Self.multipart(field: "image", filename: "astronaut.png", data: png)
        let upload = try await server.send("POST", "/v1/classify?top=3",
                                           headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"],
                                           body: multipart)
        XCTAssertEqual(upload.status, 200, upload.text)
        let expectedPNG = try await local.classify(png, top: 3)
        assertClasses(upload, equal: expectedPNG)

        // ?model= picks another served model, by alias.
        let other = try await server.send("POST", "/v1/classify?model=m1&top=1", body: jpeg)
        XCTAssertEqual(other.status, 200, other.text)
        XCTAssertEqual(other.json["model"] as? String, "efficientvit_m1")
        XCTAssertEqual((other.json["classes"] as? [Any])?.count, 1)

        let embed = try await server.send("POST", "/v1/embed", body: jpeg)
        XCTAssertEqual(embed.status, 200, embed.text)
        XCTAssertEqual(embed.json["dimensions"] as? Int, 192)
        let embedding = (embed.json["embedding"] as? [Double])?.map(Float.init)
        let expectedEmbedding = try await local.embed(jpeg)
        XCTAssertEqual(embedding, expectedEmbedding, "JSON carries each float exactly")

        let models = try await server.send("GET", "/v1/models")
        XCTAssertEqual(models.status, 200)
        XCTAssertEqual(models.json["default"] as? String, "efficientvit_m0")
        let entries = models.json["models"] as? [[String: Any]] ?? []
        XCTAssertEqual(entries.map { $0["name"] as? String }, ["efficientvit_m0", "efficientvit_m1"])
        XCTAssertEqual(entries.first?["input_size"] as? [Int], [3, 224, 224])
        XCTAssertEqual(entries.first?["max_batch_size"] as? Int, 8)

        let health = try await server.send("GET", "/healthz")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.json["status"] as? String, "ok")

        let missing = try await server.send("GET", "/no/such/path")
        XCTAssertEqual(missing.status, 404)
        let metrics = try await server.send("GET", "/metrics")
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.headers["content-type"]?.hasPrefix("text/plain") ?? false)
        for line in [#"vit_http_requests_total{endpoint="/v1/classify",status="200"} 3"#,
                     #"vit_http_requests_total{endpoint="/v1/embed",status="200"} 1"#,
                     #"vit_http_requests_total{endpoint="NotFound",status="404"} 1"#,
                     #"vit_http_request_duration_seconds_count{endpoint="/v1/classify"} 3"#,
                     #"vit_batch_size_count{model="efficientvit_m0"} 3"#,
                     #"vit_batch_size_bucket{model="efficientvit_m0",le="1.0"} 3"#,
                     #"vit_queue_depth{model="efficientvit_m0"} 0.0"#,
                     #"vit_requests_refused_total{model="efficientvit_m0",reason="overloaded"} 0"#] {
            XCTAssertTrue(metrics.text.contains(line), "/metrics lacks '\(line)':\n\(metrics.text)")
        }
        try await server.stop()
    }

    func testBadRequestsGetAJSONErrorNamingTheProblem() async throws {
        let server = try await startTwoModelServer(ServingConfiguration(maximumPixels: 100_000),
                                                   server: ServerConfiguration(port: 0, maxBodyBytes: 300_000))
        let jpeg = Fixtures.image("chelsea.jpg")
        let (emptyMultipart, boundary) = Self.multipart(parts: [])
        let (cutMultipart, _) = Self.multipart(field: "image", filename: "chelsea.jpg", data: jpeg)
        let cases: [(String, HTTPReply, Int, String, String)] = [
            ("empty body", try await server.send("POST", "/v1/classify"), 400, "empty_body", "empty"),
            ("GIF", try await server.send("POST", "/v1/classify", body: Data("GIF89a\u{1}\u{0}\u{1}\u{0}".utf8)),
             415, "unsupported_media_type", "GIF"),
            ("text", try await server.send("POST", "/v1/embed", headers: ["Content-Type": "application/json"],
                                           body: Data(#"{"image": "cat.jpg"}"#.utf8)), 415, "unsupported_media_type", "text"),
            ("truncated JPEG", try await server.send("POST", "/v1/classify", body: Fixtures.image("ycck.jpg").prefix(6000)),
             400, "invalid_image", "truncated"),
            ("multipart without boundary", try await server.send("POST", "/v1/classify",
                                                                 headers: ["Content-Type": "multipart/form-data"], body: jpeg),
             400, "invalid_multipart", "boundary"),
            ("multipart without parts", try await server.send("POST", "/v1/classify",
                                                              headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"],
                                                              body: emptyMultipart),
             400, "invalid_multipart", "malformed"),
            ("multipart cut short", try await server.send("POST", "/v1/classify",
                                                          headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"],
                                                          body: cutMultipart.prefix(cutMultipart.count / 2)),
             400, "invalid_multipart", "closing"),
            ("part header name above 0x7F", try await server.send("POST", "/v1/classify",
                                                                  headers: ["Content-Type": "multipart/form-data; boundary=B"],
                                                                  body: Data("--B\r\nX-".utf8) + Data([0x80])
                                                                      + Data(": y\r\n\r\nabc\r\n--B--\r\n".utf8)),
             400, "invalid_multipart", "header name"),
            ("unknown model", try await server.send("POST", "/v1/classify?model=m9", body: jpeg),
             404, "unknown_model", "m9"),
            ("top not a number", try await server.send("POST", "/v1/classify?top=many", body: jpeg),
             400, "invalid_top", "not an integer"),
            ("top out of range", try await server.send("POST", "/v1/classify?top=1001", body: jpeg),
             400, "invalid_top", "1…1000"),
            ("declared body too large", try await server.send("POST", "/v1/classify", body: Data(),
                                                              framing: .declaredLength(50_000_000)),
             413, "body_too_large", "50000000 bytes"),
            ("chunked body too large", try await server.send("POST", "/v1/classify", body: Data(count: 400_000),
                                                             framing: .chunked(65536)),
             413, "body_too_large", "300000"),
            ("too many pixels", try await server.send("POST", "/v1/classify", body: jpeg), 413, "too_many_pixels", "pixels"),
        ]
        for (name, reply, status, code, words) in cases {
            XCTAssertEqual(reply.status, status, "\(name): \(reply.text)")
            XCTAssertEqual(reply.headers["content-type"], "application/json", name)
            XCTAssertEqual(reply.errorCode, code, "\(name): \(reply.text)")
            let message = (reply.json["error"] as? [String: Any])?["message"] as? String ?? ""
            XCTAssertTrue(message.contains(words), "\(name): '\(message)' does not mention '\(words)'")
        }
        // The server is unharmed: a good request after all of those.
        let png = Fixtures.image("gray.png")
        let good = try await server.send("POST", "/v1/classify", body: png)
        XCTAssertEqual(good.status, 200, good.text)
        try await server.stop()
    }

    func testAFullQueueAnswers503WithRetryAfterAndTheAcceptedRequestsComplete() async throws {
        let gate = BatchGate()
        let service = try Fixtures.service(ServingConfiguration(maxBatchSize: 1, maxQueueDepth: 1), gate: gate)
        let server = try await RunningServer.start([service])
        let jpeg = Fixtures.image("coffee.jpg")
        let (running, queued) = try await holdOneAndQueueOne(server, service, gate, body: jpeg, queuedPath: "/v1/classify")

        let refused = try await server.send("POST", "/v1/classify", body: jpeg)
        XCTAssertEqual(refused.status, 503, refused.text)
        XCTAssertEqual(refused.errorCode, "overloaded")
        XCTAssertGreaterThanOrEqual(Int(refused.headers["retry-after"] ?? "") ?? 0, 1)

        gate.open()
        let first = try await running.value
        let second = try await queued.value
        XCTAssertEqual(first.status, 200, first.text)
        XCTAssertEqual(second.body, first.body)
        try await server.stop()
    }

    func testConcurrentRequestsGetTheSameAnswersAsSequentialOnes() async throws {
        let service = try Fixtures.service(ServingConfiguration(maxBatchSize: 8, maxWait: .milliseconds(5)))
        let server = try await RunningServer.start([service])
        var sequential: [String: Data] = [:]
        for photo in Fixtures.photos {
            let reply = try await server.send("POST", "/v1/classify?top=10", body: Fixtures.image(photo))
            XCTAssertEqual(reply.status, 200, reply.text)
            sequential[photo] = reply.body
        }
        let photos = (0..<24).map { Fixtures.photos[$0 % Fixtures.photos.count] }
        let replies = try await withThrowingTaskGroup(of: (String, HTTPReply).self) { group in
            for photo in photos {
                group.addTask { (photo, try await server.send("POST", "/v1/classify?top=10", body: Fixtures.image(photo))) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(replies.count, photos.count)
        for (photo, reply) in replies {
            XCTAssertEqual(reply.status, 200, reply.text)
            XCTAssertEqual(reply.body, sequential[photo], "\(photo): a concurrent answer differs from the sequential one")
        }
        try await server.stop()
    }

    /// Unknown paths and wrong methods get JSON errors (405 with `Allow`), HEAD works where GET
    /// does, headers above the limit get a JSON 431 and the connection closes, and an HTTP/1.0
    /// request is answered in HTTP/1.0 and its connection closed unless it asked to keep it.
    func testHTTPConventions() async throws {
        let server = try await startTwoModelServer()
        let unknown = try await server.send("GET", "/v2/classify")
        XCTAssertEqual(unknown.status, 404, unknown.text)
        XCTAssertEqual(unknown.errorCode, "not_found")
        XCTAssertEqual(unknown.headers["content-type"], "application/json")
        let wrongMethod = try await server.send("GET", "/v1/classify")
        XCTAssertEqual(wrongMethod.status, 405, wrongMethod.text)
        XCTAssertEqual(wrongMethod.errorCode, "method_not_allowed")
        XCTAssertEqual(wrongMethod.headers["allow"], "POST")
        let deleteModels = try await server.send("DELETE", "/v1/models")
        XCTAssertEqual(deleteModels.status, 405, deleteModels.text)
        XCTAssertEqual(deleteModels.headers["allow"], "GET, HEAD")
        let head = try TestHTTPClient.rawExchange(port: server.port, Data("HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        XCTAssertEqual(head.reply.status, 200)
        XCTAssertTrue(head.reply.body.isEmpty)

        let huge = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "b", count: 100_000))\r\n\r\n"
        let tooLarge = try TestHTTPClient.rawExchange(port: server.port, Data(huge.utf8))
        XCTAssertEqual(tooLarge.reply.status, 431, tooLarge.reply.text)
        XCTAssertEqual(tooLarge.reply.errorCode, "headers_too_large")
        XCTAssertEqual(tooLarge.reply.headers["content-type"], "application/json")
        XCTAssertTrue(tooLarge.closed, "the connection stayed open after a request that could not be parsed")
        let garbage = try TestHTTPClient.rawExchange(port: server.port, Data("HELLO\u{1} there\r\n\r\n".utf8))
        XCTAssertEqual(garbage.reply.status, 400, garbage.reply.text)
        XCTAssertEqual(garbage.reply.errorCode, "malformed_request")
        XCTAssertTrue(garbage.closed)

        let http10 = try TestHTTPClient.rawExchange(port: server.port, Data("GET /healthz HTTP/1.0\r\n\r\n".utf8))
        XCTAssertEqual(http10.statusLine, "HTTP/1.0 200 OK")
        XCTAssertEqual(http10.reply.headers["connection"], "close")
        XCTAssertTrue(http10.closed, "an HTTP/1.0 connection was left open")
        let kept = try TestHTTPClient.rawExchange(port: server.port, Data("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".utf8),
                                                  closedWithin: 1)
        XCTAssertEqual(kept.statusLine, "HTTP/1.0 200 OK")
        XCTAssertEqual(kept.reply.headers["connection"], "keep-alive")
        XCTAssertFalse(kept.closed, "an HTTP/1.0 keep-alive connection was closed")
        for version in ["HTTP/2.0", "HTTP/0.9"] {
            let other = try TestHTTPClient.rawExchange(port: server.port, Data("GET /healthz \(version)\r\nHost: x\r\n\r\n".utf8))
            XCTAssertEqual(other.statusLine, "HTTP/1.1 505 HTTP Version Not Supported", version)
            XCTAssertEqual(other.reply.errorCode, "http_version_not_supported", version)
            XCTAssertTrue(other.closed, version)
        }
        let closing = try TestHTTPClient.rawExchange(port: server.port, Data("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n".utf8))
        XCTAssertEqual(closing.statusLine, "HTTP/1.1 200 OK")
        XCTAssertEqual(closing.reply.headers["connection"], "close")
        XCTAssertTrue(closing.closed)
        let health = try await server.send("GET", "/healthz")
        XCTAssertEqual(health.status, 200)
        try await server.stop()
    }

    /// A client that stops sending mid-headers or mid-body, or keeps an idle connection, is cut
    /// off after the idle timeout (1 s here) instead of holding the connection forever; a
    /// connection that is used goes on working.
    func testStalledAndIdleConnectionsAreClosedAfterTheIdleTimeout() async throws {
        let server = try await startTwoModelServer(server: ServerConfiguration(port: 0, idleTimeout: .seconds(1)))
        let partial = ["POST /v1/classify HTTP/1.1\r\nHost: x\r\n",  // headers never finished
                       "POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n" + String(repeating: "x", count: 100),
                       ""]  // connected, nothing sent
        for request in partial {
            let started = Date()
            let closed = try TestHTTPClient.closedByServer(port: server.port, sending: Data(request.utf8), within: 20)
            XCTAssertTrue(closed, "a stalled connection (\(request.prefix(40))…) stayed open 20 s")
            XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        }
        let health = try await TestHTTPClient.send(port: server.port, "GET", "/healthz")
        XCTAssertEqual(health.status, 200)
        try await server.stop()
    }

    /// A slowloris client (a byte every 0.2 s, so never idle for the 5-s idle timeout) is cut off
    /// once its request has not arrived whole within the 1-s read deadline; a request sent at
    /// once, and the next one on the same server, are unaffected.
    func testATricklingClientIsCutAtTheRequestReadDeadline() async throws {
        let server = try await startTwoModelServer(server: ServerConfiguration(port: 0, idleTimeout: .seconds(5),
                                                                               requestReadTimeout: .seconds(1)))
        let headers = Data("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: \(String(repeating: "p", count: 200))\r\n\r\n".utf8)
        let started = Date()
        let closed = try TestHTTPClient.closedWhileTrickling(port: server.port, headers, interval: 0.2, within: 20)
        XCTAssertTrue(closed, "a trickling client held its connection 20 s")
        XCTAssertLessThan(Date().timeIntervalSince(started), 8)
        for _ in 0..<2 {
            let health = try await TestHTTPClient.send(port: server.port, "GET", "/healthz")
            XCTAssertEqual(health.status, 200)
        }
        try await server.stop()
    }

    /// Beyond `maxConnections` (2 here) a new connection is closed as it opens; the ones held
    /// stay open, and once one of them goes a new client is served again.
    func testConnectionsBeyondTheCapAreClosedAtOnce() async throws {
        let server = try await startTwoModelServer(server: ServerConfiguration(port: 0, idleTimeout: .seconds(30),
                                                                               requestReadTimeout: .seconds(30), maxConnections: 2))
        let held = try (0..<2).map { _ in try TestHTTPClient.openConnection(port: server.port) }
        try await Task.sleep(for: .milliseconds(300))  // both counted
        XCTAssertTrue(try TestHTTPClient.closedByServer(port: server.port, sending: Data(), within: 5), "a third connection was held")
        for fd in held { XCTAssertFalse(TestHTTPClient.isClosed(fd), "a connection within the cap was closed") }
        close(held[0])
        try await Task.sleep(for: .milliseconds(300))  // released
        let health = try await TestHTTPClient.send(port: server.port, "GET", "/healthz")
        XCTAssertEqual(health.status, 200)
        close(held[1])
        try await server.stop()
    }

    func testGracefulShutdownAnswersTheRequestsInFlight() async throws {
        let gate = BatchGate()
        let service = try Fixtures.service(ServingConfiguration(maxBatchSize: 1), gate: gate)
        let server = try await RunningServer.start([service])
        let jpeg = Fixtures.image("rocket.jpg")
        let (running, queued) = try await holdOneAndQueueOne(server, service, gate, body: jpeg, queuedPath: "/v1/embed")

        await server.beginShutdown()
        // The listener closes first; the two accepted requests are still being served.
        try await eventually("the server stops accepting connections") { TestHTTPClient.isRefused(port: server.port) }
        gate.open()
        let first = try await running.value
        let second = try await queued.value
        XCTAssertEqual(first.status, 200, first.text)
        XCTAssertEqual(second.status, 200, second.text)
        XCTAssertEqual(second.json["dimensions"] as? Int, 192)
        try await server.waitUntilStopped()
        XCTAssertFalse(service.isAccepting, "the service drained with the server")
    }

    /// With no idle timeout or read deadline to end it, a stalled upload would hold a graceful
    /// shutdown forever; the grace period (1 s here) cuts it and the server stops.
    func testAStalledUploadIsCutAtTheEndOfTheShutdownGracePeriod() async throws {
        let server = try await startTwoModelServer(server: ServerConfiguration(
            port: 0, idleTimeout: nil, requestReadTimeout: nil, shutdownGracePeriod: .seconds(1)))
        let stalled = try TestHTTPClient.openConnection(port: server.port)
        defer { close(stalled) }
        let partial = "POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n" + String(repeating: "x", count: 100)
        _ = partial.withCString { send(stalled, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        try await Task.sleep(for: .milliseconds(300))
        let started = Date()
        await server.beginShutdown()
        let stopped = Task { try await server.waitUntilStopped() }
        try await eventually("the stalled upload is cut", timeout: .seconds(15)) { TestHTTPClient.isClosed(stalled) }
        try? await stopped.value
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "the shutdown waited for the stalled upload")
    }

    // MARK: - Helpers

    /// A busy server: one classify request held in its batch by `gate`, one request to
    /// `queuedPath` waiting behind it.
    private func holdOneAndQueueOne(_ server: RunningServer, _ service: InferenceService, _ gate: BatchGate, body: Data,
                                    queuedPath: String) async throws -> (Task<HTTPReply, any Error>, Task<HTTPReply, any Error>) {
        let running = Task { try await server.send("POST", "/v1/classify", body: body) }
        try await gate.waitUntilHolding()
        let queued = Task { try await server.send("POST", queuedPath, body: body) }
        try await service.waitUntilQueued(1)
        return (running, queued)
    }

    private func assertClasses(_ reply: HTTPReply, equal expected: TopClasses, file: StaticString = #filePath, line: UInt = #line) {
        let classes = reply.json["classes"] as? [[String: Any]] ?? []
        XCTAssertEqual(classes.map { $0["index"] as? Int }, expected.indices, file: file, line: line)
        XCTAssertEqual(classes.map { $0["label"] as? String }, expected.labels, file: file, line: line)
        // The server writes each probability's shortest exact decimal, but Foundation's JSON
        // parser on Linux may round the last digit when reading it back.
        let probabilities = classes.map { $0["probability"] as? Double ?? .nan }
        XCTAssertEqual(probabilities.count, expected.probabilities.count, file: file, line: line)
        for (got, want) in zip(probabilities, expected.probabilities) {
            XCTAssertEqual(got, want, accuracy: want * 1e-15, file: file, line: line)
        }
    }

    static func multipart(field: String, filename: String, data: Data) -> (Data, String) {
        multipart(parts: [("note", nil, Data("a text field first".utf8)), (field, filename, data)])
    }

    static func multipart(parts: [(name: String, filename: String?, data: Data)]) -> (Data, String) {
        let boundary = "vit-test-boundary-7MA4YWxkTrZu0gW"
        var body = Data()
        for part in parts {
            var disposition = "Content-Disposition: form-data; name=\"\(part.name)\""
            if let filename = part.filename { disposition += "; filename=\"\(filename)\"" }
            body += Data("--\(boundary)\r\n\(disposition)\r\n\r\n".utf8) + part.data + Data("\r\n".utf8)
        }
        body += Data("--\(boundary)--\r\n".utf8)
        return (body, boundary)
    }
}
