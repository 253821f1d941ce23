import Foundation
import CKernels
import XCTest
@testable import ViTEngine

/// EfficientViT logits against the PyTorch reference (timm), on weights whose BatchNorm
/// statistics, scales, biases and attention bias tables are all random. Fixtures come from
/// scripts/make_fixtures.py.
final class ParityTests: XCTestCase {
    func testM0CreamLayoutHalfPrecisionFile() throws { try checkParity("m0_224_b2") }
    func testM1() throws { try checkParity("m1_224_b2") }
    func testM2CreamLayout() throws { try checkParity("m2_224_b2") }
    func testM3() throws { try checkParity("m3_224_b2") }
    func testM4() throws { try checkParity("m4_224_b2") }
    func testM5CreamLayout() throws { try checkParity("m5_224_b2") }
    func testM2At160() throws { try checkParity("m2_160_b1") }
    func testM4At256() throws { try checkParity("m4_256_b1") }
    func testM0At224x320Batch5() throws { try checkParity("m0_224x320_b5") }
    func testM1At320x224() throws { try checkParity("m1_320x224_b1") }

    /// Every case above again on each lower kernel tier this CPU runs, forced (the tests above
    /// run the best tier): what CPUs without AVX-512, or without AVX2, run.
    func testEveryCaseOnEveryLowerTier() throws {
        for isa in KernelTiers.supported where isa != KernelISA.best {
            try KernelTiers.with(isa) {
                for name in Self.cases.sorted() { try checkParity(name) }
            }
        }
    }

    static let cases: Set = ["m0_224_b2", "m1_224_b2", "m2_224_b2", "m3_224_b2", "m4_224_b2", "m5_224_b2",
                             "m2_160_b1", "m4_256_b1", "m0_224x320_b5", "m1_320x224_b1"]

    /// Every case of the manifest has a test, here or in ``ZooParityTests``.
    func testEveryFixtureCaseIsCovered() {
        XCTAssertEqual(Set(Fixtures.manifest.cases.map(\.name)), Self.cases.union(ZooParityTests.cases))
    }
}
