import Foundation
import Synchronization
import XCTest
@testable import ViTEngine

/// Loading reads weights through a memory map and gives each tensor's pages back once copied, so
/// that a process never holds the file *and* the model's weights at once (a 50 MB checkpoint
/// would otherwise peak at twice its size). Residency is read from `/proc/self/smaps`, which
/// lists each mapping's resident bytes under the mapped file's path.
final class MappedFileTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }


    /// What may stay resident after reading a file tensor by tensor: what was read since the last
    /// release (less than the interval plus one tensor, at most 0.6 MB here) and what the kernel
    /// mapped around it (up to a 2 MiB huge page).
    private let residueBound = MappedFile.releaseInterval + (600 << 10) + (2 << 20)

    func testReleasedPagesLeaveTheProcessAndReadBackUnchanged() throws {
        let path = directory.appendingPathComponent("pattern.bin").path
        let bytes = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let file = try MappedFile(path: path)
        XCTAssertEqual(checksum(file.data), checksum(Data(bytes)))
        XCTAssertGreaterThan(try residentBytes(of: path), 3 << 20, "reading every byte maps the file in")

        file.releaseResidentPages()
        XCTAssertEqual(try residentBytes(of: path), 0)
        XCTAssertEqual(file.data, Data(bytes), "released pages are read again from the file")
        XCTAssertGreaterThan(try residentBytes(of: path), 3 << 20)
    }

    func testSafetensorsTensorsAreNotKeptResidentOnceRead() throws {
        let path = directory.appendingPathComponent("weights.safetensors").path
        // Odd sizes, so tensors start and end inside pages and share them with their neighbours;
        // 12 MB in all, many times what may stay resident.
        let tensors = (0..<24).map { index in
            (name: "t\(index)", shape: [11_000 + 37 * index, 11],
             values: (0..<((11_000 + 37 * index) * 11)).map { Float($0 % 997) * 0.5 + Float(index) })
        }
        try SafeTensorsWriter.write(tensors, to: path)

        let file = try SafeTensorsFile(path: path)
        for tensor in tensors.shuffled() {
            XCTAssertEqual(try file.floats(tensor.name), tensor.values, tensor.name)
        }
        XCTAssertLessThanOrEqual(try residentBytes(of: path), residueBound)
        // Read again after the release: the same values, from the file.
        XCTAssertEqual(try file.floats("t7"), tensors[7].values)
    }

    func testTorchCheckpointIsNotKeptResidentAfterOpeningOrReading() throws {
        let path = Fixtures.path("pth/m0_cream_f16.pth")
        let checkpoint = try TorchCheckpoint(path: path)
        // Opening checks every member's CRC-32, which reads the whole 5 MB file.
        XCTAssertEqual(try residentBytes(of: path), 0, "released once the pickle is parsed")
        var total = 0
        for name in checkpoint.names where checkpoint.dtype(name) != "I64" {
            total += try checkpoint.floats(name).count
        }
        XCTAssertGreaterThan(total, 2_000_000)
        XCTAssertLessThanOrEqual(try residentBytes(of: path), residueBound)
    }

    func testUnreadablePathsAreNamed() {
        for (path, reason) in [(directory.appendingPathComponent("absent").path, "no such file"),
                               (directory.path, "it is a directory")] {
            XCTAssertThrowsError(try MappedFile(path: path)) { error in
                XCTAssertEqual(error as? EngineError, .fileUnreadable(path: path, reason: reason))
            }
        }
    }

    /// A FIFO given as a weights file is refused at once, not waited on for a writer that never
    /// comes (an `open` for reading blocks on a FIFO). If it did block, the test opens the write
    /// end itself after 10 s, so the blocked reader returns and the failure is reported, not hung.
    func testAFIFOIsRefusedWithoutWaitingForAWriter() throws {
        let path = directory.appendingPathComponent("weights.fifo").path
        XCTAssertEqual(mkfifo(path, 0o600), 0, String(cString: strerror(errno)))
        let finished = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<Void, EngineError>?>(nil)
        Thread.detachNewThread {
            let result = Result { () throws(EngineError) in _ = try WeightsFile.open(path: path) }
            outcome.withLock { $0 = result }
            finished.signal()
        }
        if finished.wait(timeout: .now() + 10) == .timedOut {
            let writer = open(path, O_WRONLY | O_NONBLOCK)  // releases the reader blocked in open
            defer { if writer >= 0 { close(writer) } }
            XCTFail("opening a FIFO as weights blocked for 10 s")
            _ = finished.wait(timeout: .now() + 10)
            return
        }
        guard case .failure(let error)? = outcome.withLock({ $0 }) else { return XCTFail("a FIFO was read as weights") }
        XCTAssertEqual(error, .fileUnreadable(path: path, reason: "not a regular file"))
    }

    func testEmptyFileMapsToNoBytes() throws {
        let path = directory.appendingPathComponent("empty").path
        try Data().write(to: URL(fileURLWithPath: path))
        let file = try MappedFile(path: path)
        XCTAssertEqual(file.data.count, 0)
        file.releaseResidentPages()
    }

    // MARK: Helpers

    private func checksum(_ data: Data) -> Int {
        data.withUnsafeBytes { raw in raw.reduce(0) { $0 &* 31 &+ Int($1) } }
    }

    /// The resident bytes of this process's mappings of the file at `path`.
    private func residentBytes(of path: String) throws -> Int {
        let canonical = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        // Read to the end by hand: /proc files report a size of 0, and the listing is long.
        let handle = try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/self/smaps"))
        defer { try? handle.close() }
        let smaps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        var inFile = false
        var kilobytes = 0
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let first = fields.first, first.contains("-"), first.allSatisfy({ $0.isHexDigit || $0 == "-" }) {
                inFile = fields.count >= 6 && fields[5...].joined(separator: " ") == canonical
            } else if inFile, fields.first == "Rss:", fields.count >= 2 {
                kilobytes += Int(fields[1]) ?? 0
            }
        }
        return kilobytes << 10
    }
}
