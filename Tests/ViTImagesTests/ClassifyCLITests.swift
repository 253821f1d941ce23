import Foundation
import Synchronization
import ViTEngine
import ViTHub
import XCTest
@testable import ViTImages

/// Runs the real `vit classify` and `vit preprocess` executables the way a user does.
final class ClassifyCLITests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try ImageFixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// `vit` sits next to the test bundle in SwiftPM's products directory.
    private var executable: URL {
        Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent("vit")
    }

    private func vit(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        // An empty weights cache, whatever `vit fetch` put in the user's.
        process.environment = ProcessInfo.processInfo.environment.merging(["VIT_ENGINE_CACHE": cacheDirectory]) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes concurrently so a full stderr pipe cannot block the child.
        let errorData = Mutex<Data?>(nil)
        let reader = Thread { [err] in
            let data = err.fileHandleForReading.readDataToEndOfFile()
            errorData.withLock { $0 = data }
        }
        reader.start()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while errorData.withLock({ $0 == nil }) { usleep(1000) }
        let stderr = errorData.withLock { $0 ?? Data() }
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    private func fixture(_ name: String) -> String { ImageFixtures.path(name) }
    private var cacheDirectory: String { directory.appendingPathComponent("cache").path }
    private var weights: String { ImageFixtures.weightsPath }

    private func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0))
        }
    }

    /// Softmax probabilities of the PyTorch pipeline's logits for photo `n`.
    private func referenceProbabilities(_ n: Int) throws -> [Double] {
        let logits = try NPY.read(path: fixture(ImageFixtures.manifest.endToEnd.logits))
        let row = logits.values[(n * 1000)..<((n + 1) * 1000)].map(Double.init)
        let largest = row.max()!
        let e = row.map { exp($0 - largest) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }

    func testJSONLinesMatchThePyTorchPipelineInInputOrder() throws {
        let e2e = ImageFixtures.manifest.endToEnd
        for extra in [["--batch", "3"], ["--batch", "1", "--threads", "2"]] {
            let result = try vit(["classify", "--model", "m0", "--weights", weights, "--json", "--top", "5"]
                                 + extra + e2e.photos.map(fixture))
            XCTAssertEqual(result.status, 0, result.stderr)
            let lines = try jsonLines(result.stdout)
            XCTAssertEqual(lines.map { $0["path"] as? String }, e2e.photos.map(fixture), "\(extra)")
            for (n, line) in lines.enumerated() {
                let indices = try XCTUnwrap(line["indices"] as? [Int])
                XCTAssertEqual(indices, e2e.top5[n])
                XCTAssertEqual(line["labels"] as? [String], indices.map { ImageNetLabels.names[$0] })
                let probabilities = try XCTUnwrap(line["probabilities"] as? [Double])
                let reference = try referenceProbabilities(n)
                for (index, p) in zip(indices, probabilities) { XCTAssertEqual(p, reference[index], accuracy: 1e-6) }
                XCTAssertNil(line["error"])
            }
        }
    }

    func testTableListsTopKPerImage() throws {
        let result = try vit(["classify", "-m", "m0", "-w", weights, "--top", "3", fixture("chelsea.jpg"), fixture("gray.png")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let rows = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(rows.count, 1 + 2 * 3, result.stdout)
        XCTAssertTrue(rows[0].hasPrefix("image"), rows[0])
        for header in ["rank", "probability", "class", "label"] { XCTAssertTrue(rows[0].contains(header)) }
        let top = ImageFixtures.manifest.endToEnd.top5[0][0]
        XCTAssertTrue(rows[1].hasPrefix(fixture("chelsea.jpg")), rows[1])
        XCTAssertTrue(rows[1].hasSuffix("  \(top)  " + ImageNetLabels.names[top]), rows[1])
        XCTAssertTrue(rows[4].hasPrefix(fixture("gray.png")), rows[4])
        let ranks = rows.dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        XCTAssertEqual(ranks.map { $0.count > 1 ? String($0[1]) : "" }, ["1", "2", "3", "1", "2", "3"])
        XCTAssertEqual(result.stderr, "")
    }

    /// A directory (searched recursively) with one corrupt and other bad files, and a symbolic link
    /// whose target is gone: each is reported, the others classified, and the exit status is 2.
    func testDirectoryWithBadFilesReportsThemAndClassifiesTheRest() throws {
        let photos = directory.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: photos.appendingPathComponent("nested"), withIntermediateDirectories: true)
        let fm = FileManager.default
        try fm.copyItem(atPath: fixture("chelsea.jpg"), toPath: photos.appendingPathComponent("a-chelsea.jpg").path)
        try fm.copyItem(atPath: fixture("palette.png"), toPath: photos.appendingPathComponent("nested/b-palette.png").path)
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: fixture("coffee.jpg")))
        try jpeg.prefix(jpeg.count / 2).write(to: photos.appendingPathComponent("c-truncated.jpg"))
        try Data().write(to: photos.appendingPathComponent("d-empty.png"))
        try Data("not an image".utf8).write(to: photos.appendingPathComponent("e-text.JPG"))
        try Data("ignored".utf8).write(to: photos.appendingPathComponent("notes.txt"))
        try fm.createSymbolicLink(atPath: photos.appendingPathComponent("f-broken.png").path,
                                  withDestinationPath: directory.appendingPathComponent("gone.png").path)

        let result = try vit(["classify", "-m", "m0", "-w", weights, "--json", "--top", "1", "--batch", "2", photos.path])
        XCTAssertEqual(result.status, 2, result.stderr)
        let lines = try jsonLines(result.stdout)
        let names = lines.map { URL(fileURLWithPath: $0["path"] as! String).lastPathComponent }
        XCTAssertEqual(names, ["a-chelsea.jpg", "c-truncated.jpg", "d-empty.png", "e-text.JPG", "f-broken.png",
                               "b-palette.png"])
        XCTAssertEqual(lines.map { $0["error"] == nil }, [true, false, false, false, false, true])
        XCTAssertTrue((lines[1]["error"] as? String ?? "").contains("truncated JPEG"))
        XCTAssertTrue((lines[2]["error"] as? String ?? "").contains("empty"))
        XCTAssertTrue((lines[3]["error"] as? String ?? "").contains("not a JPEG or PNG image"))
        XCTAssertTrue((lines[4]["error"] as? String ?? "").contains("f-broken.png"), "\(lines[4])")
        for bad in ["c-truncated.jpg", "d-empty.png", "e-text.JPG", "f-broken.png"] {
            XCTAssertTrue(result.stderr.contains(photos.appendingPathComponent(bad).path), result.stderr)
        }
        XCTAssertTrue(result.stderr.contains("4 of 6 image(s) could not be classified"), result.stderr)
        XCTAssertTrue(result.stderr.contains("skipped 1 file"), result.stderr)
        XCTAssertFalse(result.stderr.contains("Fatal error"), result.stderr)
    }

    func testMissingWeightsSayHowToGetThem() throws {
        let info = try ModelRegistry.model(named: "m2")
        for arguments in [["classify", "-m", "m2", fixture("chelsea.jpg")],
                          ["classify", "-m", "m2", "-w", directory.appendingPathComponent("absent.safetensors").path,
                           fixture("chelsea.jpg")]] {
            let result = try vit(arguments)
            XCTAssertEqual(result.status, 1)
            XCTAssertEqual(result.stdout, "")
            for text in [info.weights.official!, info.weights.timm!, "vit fetch --model m2", "scripts/convert_checkpoint.py",
                         "--weights"] {
                XCTAssertTrue(result.stderr.contains(text), "\(text) missing in: \(result.stderr)")
            }
        }
    }

    /// Without --weights, weights that `vit fetch` put in the cache are used (nothing is downloaded).
    func testUsesWeightsFromTheCache() throws {
        let info = try ModelRegistry.model(named: "m0")
        let cached = WeightCache(directory: cacheDirectory).path(for: info, source: .official)
        try FileManager.default.createDirectory(atPath: (cached as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: weights, toPath: cached)
        let result = try vit(["classify", "--json", "--top", "1", fixture("chelsea.jpg")])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try jsonLines(result.stdout).first?["indices"] as? [Int], [ImageFixtures.manifest.endToEnd.top5[0][0]])
    }

    func testUsageAndModelErrorsExitNonZero() throws {
        let unknown = try vit(["classify", "-m", "m9", "-w", weights, fixture("chelsea.jpg")])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("unknown model 'm9'"), unknown.stderr)
        let badTop = try vit(["classify", "-w", weights, "--top", "0", fixture("chelsea.jpg")])
        XCTAssertNotEqual(badTop.status, 0)
        XCTAssertTrue(badTop.stderr.contains("--top"), badTop.stderr)
        let nothing = try vit(["classify", "-w", weights, directory.path])
        XCTAssertEqual(nothing.status, 1)
        XCTAssertTrue(nothing.stderr.contains("no image files found"), nothing.stderr)
    }

    func testPreprocessWritesTimmsTensorAndNothingOnError() throws {
        let output = directory.appendingPathComponent("input.npy").path
        let result = try vit(["preprocess", fixture("chelsea.jpg"), fixture("chelsea.jpg"), "--model", "m0", "-o", output])
        XCTAssertEqual(result.status, 0, result.stderr)
        let tensor = try NPY.read(path: output)
        let reference = try NPY.read(path: fixture(ImageFixtures.manifest.referenceTensor.file))
        XCTAssertEqual(tensor.shape, [2, 3, 224, 224])
        XCTAssertEqual(Array(tensor.values[0..<reference.count]), reference.values)
        XCTAssertEqual(Array(tensor.values[reference.count...]), reference.values)

        let bad = directory.appendingPathComponent("bad.npy").path
        let broken = directory.appendingPathComponent("broken.png")
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]).write(to: broken)
        let failed = try vit(["preprocess", fixture("chelsea.jpg"), broken.path, "-o", bad])
        XCTAssertEqual(failed.status, 1)
        XCTAssertTrue(failed.stderr.contains(broken.path), failed.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: bad))
    }
}
