import Foundation
import XCTest
@testable import ViTEngine
import ViTHub

/// Downloading pretrained weights into the cache, against an HTTP server on 127.0.0.1.
final class WeightCacheTests: XCTestCase {
    private let model = try! ModelRegistry.model(named: "m0")
    private var directory: URL!
    private var server: LocalHTTPServer!
    /// A real checkpoint of efficientvit_m0 (the official layout, float16): what the server serves.
    private let checkpoint = try! Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pth/m0_cream_f16.pth")))

    override func setUpWithError() throws {
        directory = try Fixtures.temporaryDirectory()
        server = try LocalHTTPServer(routes: ["/m0.pth": .body(checkpoint)])
    }

    override func tearDownWithError() throws {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    private var cache: WeightCache { WeightCache(directory: directory.path) }
    private var entry: String { cache.path(for: model, source: .official) }

    /// What the cache entry's directory holds besides lock files: nothing that looks like weights
    /// unless a fetch succeeded.
    private func entryFiles() -> [String] {
        let dir = (entry as NSString).deletingLastPathComponent
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasSuffix(".lock") }.sorted()
    }

    private func assertFetchFails(_ url: URL, cache: WeightCache? = nil, file: StaticString = #filePath, line: UInt = #line,
                                  _ check: (String) -> Void) {
        XCTAssertThrowsError(try (cache ?? self.cache).fetch(model, url: url), file: file, line: line) { error in
            guard case let .downloadFailed(failedURL, reason, destination)? = error as? EngineError else {
                return XCTFail("\(error)", file: file, line: line)
            }
            XCTAssertEqual(failedURL, url.absoluteString, file: file, line: line)
            XCTAssertEqual(destination, entry, file: file, line: line)
            XCTAssertTrue((error as! EngineError).description.contains(entry), file: file, line: line)
            check(reason)
        }
        XCTAssertEqual(entryFiles(), [], "a failed fetch left files", file: file, line: line)
    }

    /// A model whose weights have no URL here: the error names the model and the source, says
    /// where the weights are (another source, or the authors' page) and how to pass them.
    func testModelWithoutWeightsURLSaysWhereTheyAre() throws {
        let evit = try ModelRegistry.model(named: "evit-s")
        XCTAssertThrowsError(try WeightCache.url(for: evit, source: .official)) { error in
            guard case let .noWeightsURL(model, source, advice)? = error as? EngineError else { return XCTFail("\(error)") }
            XCTAssertEqual([model, source], ["evit_small_patch16_224", "official"])
            XCTAssertTrue(advice.contains("https://drive.google.com/"), advice)
            XCTAssertTrue((error as! EngineError).description.hasSuffix("pass a weights file with --weights FILE"))
        }
        let s0 = try ModelRegistry.model(named: "efficientformerv2_s0")
        XCTAssertThrowsError(try WeightCache.url(for: s0, source: .official)) { error in
            XCTAssertTrue("\(error)".contains("--source timm"), "\(error)")
        }
    }

    func testDownloadVerifiesAndSecondFetchMakesNoRequest() throws {
        let first = try cache.fetch(model, url: server.url("/m0.pth"))
        XCTAssertTrue(first.downloaded)
        XCTAssertEqual(first.path, directory.path + "/efficientvit_m0/official-efficientvit_m0.pth")
        XCTAssertEqual(first.sha256, SHA256.hexDigest(of: checkpoint))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: first.path)), checkpoint)
        XCTAssertEqual(entryFiles(), ["official-efficientvit_m0.pth", "official-efficientvit_m0.pth.sha256"])

        let second = try cache.fetch(model, url: server.url("/m0.pth"))
        XCTAssertEqual(second, CachedWeights(path: first.path, sha256: first.sha256, downloaded: false))
        XCTAssertEqual(server.requests, ["/m0.pth"], "the second fetch must not download again")
        XCTAssertEqual(try Model.load("m0", weights: second.path).info.name, "efficientvit_m0")
    }

    func testExpectedDigestIsChecked() throws {
        let wrong = String(repeating: "0", count: 64)
        XCTAssertThrowsError(try cache.fetch(model, url: server.url("/m0.pth"), expectedSHA256: wrong)) { error in
            XCTAssertEqual(error as? EngineError, .checksumMismatch(path: server.url("/m0.pth").absoluteString, expected: wrong,
                                                                   found: SHA256.hexDigest(of: checkpoint)))
        }
        XCTAssertEqual(entryFiles(), [])
        let right = SHA256.hexDigest(of: checkpoint).uppercased()
        XCTAssertTrue(try cache.fetch(model, url: server.url("/m0.pth"), expectedSHA256: right).downloaded)
        // A cached file is checked too when a digest is given.
        XCTAssertThrowsError(try cache.fetch(model, url: server.url("/m0.pth"), expectedSHA256: wrong)) { error in
            guard case .checksumMismatch(entry, wrong, _)? = error as? EngineError else { return XCTFail("\(error)") }
        }
    }

    func testRegistryDigestIsRequiredWhenListed() throws {
        var listed = model
        listed.weights.officialSHA256 = String(repeating: "1", count: 64)
        XCTAssertThrowsError(try cache.fetch(listed, url: server.url("/m0.pth"))) { error in
            guard case .checksumMismatch? = error as? EngineError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(entryFiles(), [])
        listed.weights.officialSHA256 = SHA256.hexDigest(of: checkpoint)
        XCTAssertTrue(try cache.fetch(listed, url: server.url("/m0.pth")).downloaded)
    }

    func testNotFoundNamesTheURLAndWhereToPutTheFile() {
        assertFetchFails(server.url("/missing.pth")) { XCTAssertEqual($0, "the server answered HTTP 404") }
    }

    func testConnectionCutMidBodyLeavesNothing() throws {
        server.setRoute("/cut.pth", .cut(checkpoint, after: checkpoint.count / 2))
        assertFetchFails(server.url("/cut.pth")) { reason in XCTAssertFalse(reason.isEmpty) }
        // The next fetch starts over and succeeds.
        XCTAssertTrue(try cache.fetch(model, url: server.url("/m0.pth")).downloaded)
    }

    /// A server that trickles (32 bytes/s here) is given up once the rate has stayed below the
    /// minimum for the window, and one that is steady but too slow for the whole file at the
    /// deadline; both leave nothing behind and say which limit was hit.
    func testTricklingAndEndlessDownloadsAreGivenUp() throws {
        server.setRoute("/trickle.pth", .body(checkpoint, chunk: 16, pause: 0.5))
        var slow = cache
        slow.limits = DownloadLimits(connectTimeout: 10, deadline: 600, minimumBytesPerSecond: 1000, rateWindow: 2)
        let start = Date()
        assertFetchFails(server.url("/trickle.pth"), cache: slow) { XCTAssertTrue($0.contains("slower than 1000 bytes/s for 2 s"), $0) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)

        server.setRoute("/steady.pth", .body(checkpoint, chunk: 8192, pause: 0.1))  // 80 kB/s: 5 MB in a minute
        var hurried = cache
        hurried.limits = DownloadLimits(connectTimeout: 10, deadline: 2, minimumBytesPerSecond: 1000, rateWindow: 2)
        assertFetchFails(server.url("/steady.pth"), cache: hurried) { XCTAssertTrue($0.contains("2-second deadline"), $0) }
    }

    /// The limits come from the environment when set; a value that is not a positive whole
    /// number is refused by the variable's name when a fetch would download, never replaced.
    func testDownloadLimitsFromTheEnvironment() throws {
        let set = WeightCache(directory: directory.path, environment: ["VIT_DOWNLOAD_DEADLINE": "90", "VIT_DOWNLOAD_MIN_RATE": "500"])
        XCTAssertEqual(set.limits, DownloadLimits(connectTimeout: 60, deadline: 90, minimumBytesPerSecond: 500, rateWindow: 60))
        XCTAssertEqual(WeightCache(directory: directory.path, environment: [:]).limits, .standard)
        for (name, value) in [("VIT_DOWNLOAD_DEADLINE", "soon"), ("VIT_DOWNLOAD_MIN_RATE", "-5"), ("VIT_DOWNLOAD_MIN_RATE", "1.5")] {
            let bad = WeightCache(directory: directory.path, environment: [name: value])
            XCTAssertThrowsError(try bad.fetch(model, url: server.url("/m0.pth"))) { error in
                XCTAssertEqual(error as? EngineError, .invalidSetting(name: name, reason: "'\(value)' is not a positive whole number"))
            }
        }
        XCTAssertEqual(entryFiles(), [])
    }

    /// A cached file is checked again on use (it still parses, with every tensor of the model by
    /// name and shape): one damaged after the download is refused by path, not handed out.
    func testACachedFileDamagedLaterIsRefusedOnUse() throws {
        XCTAssertTrue(try cache.fetch(model, url: server.url("/m0.pth")).downloaded)
        XCTAssertFalse(try cache.fetch(model, url: server.url("/m0.pth")).downloaded)
        try Data(checkpoint.prefix(checkpoint.count / 2)).write(to: URL(fileURLWithPath: entry))
        XCTAssertThrowsError(try cache.fetch(model, url: server.url("/m0.pth"))) { error in
            guard case let .invalidCheckpoint(path, reason)? = error as? EngineError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, entry)
            XCTAssertTrue(reason.contains("not a usable efficientvit_m0 checkpoint any more"), reason)
            XCTAssertTrue(reason.contains("delete it to download it again"), reason)
        }
    }

    /// A download is verified by loading it, so a file whose names and shapes fit but whose data
    /// the loader cannot read (an integer dtype) never enters the cache as verified.
    func testADownloadIsVerifiedByTheLoaderItself() throws {
        let converted = directory.appendingPathComponent("m0.safetensors").path
        _ = try CheckpointConverter.convert(input: Fixtures.path("pth/m0_cream_f16.pth"), output: converted)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: converted))
        let key = try XCTUnwrap(bytes.range(of: Data("\"head.linear.weight\"".utf8)))
        let field = try XCTUnwrap(bytes.range(of: Data("\"F16\"".utf8), in: key.upperBound..<bytes.count))
        bytes.replaceSubrange(field, with: Data("\"I16\"".utf8))
        server.setRoute("/int.safetensors", .body(bytes))
        assertFetchFails(server.url("/int.safetensors")) { reason in
            XCTAssertTrue(reason.contains("not a usable efficientvit_m0 checkpoint"), reason)
            XCTAssertTrue(reason.contains("head.linear.weight") && reason.contains("I16"), reason)
        }
    }

    func testBodyThatIsNotACheckpointIsRejected() throws {
        server.setRoute("/page.pth", .body(Data("<html>rate limited</html>".utf8)))
        assertFetchFails(server.url("/page.pth")) { XCTAssertTrue($0.contains("not a usable efficientvit_m0 checkpoint"), $0) }
        // A valid checkpoint of another model is not accepted as m0 either.
        server.setRoute("/tiny.pth", .body(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pth/tiny_timm.pth")))))
        assertFetchFails(server.url("/tiny.pth")) { XCTAssertTrue($0.contains("lacks 580 tensor(s)"), $0) }
    }

    func testOfflineNamesTheURL() throws {
        let closed = try LocalHTTPServer(routes: [:])
        let url = closed.url("/m0.pth")
        closed.stop()
        assertFetchFails(url) { XCTAssertFalse($0.isEmpty) }
    }

    /// Two fetches at once: one download, both get the same valid file.
    func testConcurrentFetchesShareOneDownload() throws {
        // Slow the body down so that the two fetches overlap.
        server.setRoute("/slow.pth", .body(checkpoint, chunk: 256 << 10, pause: 0.05))
        let url = server.url("/slow.pth")
        let cache = self.cache
        let model = self.model
        let results = ResultBox()
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            results.append(Result { try cache.fetch(model, url: url) })
        }
        let fetched = try results.values.map { try $0.get() }
        XCTAssertEqual(fetched.count, 2)
        XCTAssertEqual(Set(fetched.map(\.path)), [entry])
        XCTAssertEqual(fetched.filter(\.downloaded).count, 1)
        XCTAssertEqual(server.requests, ["/slow.pth"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: entry)), checkpoint)
        XCTAssertEqual(entryFiles(), ["official-efficientvit_m0.pth", "official-efficientvit_m0.pth.sha256"])
    }

    func testCacheDirectoryFollowsXDGAndTheOverride() {
        XCTAssertEqual(WeightCache.defaultDirectory(environment: ["HOME": "/home/u"]), "/home/u/.cache/vit-engine")
        XCTAssertEqual(WeightCache.defaultDirectory(environment: ["HOME": "/home/u", "XDG_CACHE_HOME": "/xdg"]), "/xdg/vit-engine")
        XCTAssertEqual(WeightCache.defaultDirectory(environment: ["HOME": "/home/u", "XDG_CACHE_HOME": "relative"]),
                       "/home/u/.cache/vit-engine", "XDG ignores relative paths")
        XCTAssertEqual(WeightCache.defaultDirectory(environment: ["XDG_CACHE_HOME": "/xdg", "VIT_ENGINE_CACHE": "/mine"]), "/mine")
        XCTAssertEqual(WeightCache(directory: "/flag", environment: ["VIT_ENGINE_CACHE": "/mine"]).directory, "/flag")
    }

    func testRegistryURLsNameTheCacheEntries() throws {
        let m4 = try ModelRegistry.model(named: "m4")
        XCTAssertEqual(try WeightCache.url(for: m4, source: .timm).absoluteString, m4.weights.timm)
        XCTAssertEqual(WeightCache(directory: "/c").path(for: m4, source: .official), "/c/efficientvit_m4/official-efficientvit_m4.pth")
        XCTAssertEqual(WeightCache(directory: "/c").path(for: m4, source: .timm), "/c/efficientvit_m4/timm-model.safetensors")
    }
}

/// Collects results from concurrent closures.
///
/// `@unchecked Sendable`: `items` is only touched with `lock` held.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Result<CachedWeights, Error>] = []
    func append(_ item: Result<CachedWeights, Error>) { lock.lock(); items.append(item); lock.unlock() }
    var values: [Result<CachedWeights, Error>] { lock.lock(); defer { lock.unlock() }; return items }
}
