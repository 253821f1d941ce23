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

    /// The kernels' portable paths (GEMM, depthwise conv, window attention, exp and GELU rows:
    /// what CPUs without AVX-512 run) meet the same mark.
    func testM0WithPortableKernels() throws {
        vit_kernels_use_portable(1)
        defer { vit_kernels_use_portable(0) }
        try checkParity("m0_224_b2")
    }

    static let cases: Set = ["m0_224_b2", "m1_224_b2", "m2_224_b2", "m3_224_b2", "m4_224_b2", "m5_224_b2",
                             "m2_160_b1", "m4_256_b1", "m0_224x320_b5", "m1_320x224_b1"]

    /// Every case of the manifest has a test, here or in ``ZooParityTests``.
    func testEveryFixtureCaseIsCovered() {
        XCTAssertEqual(Set(Fixtures.manifest.cases.map(\.name)), Self.cases.union(ZooParityTests.cases))
    }
}
