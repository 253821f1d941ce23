/// An 8-bit RGB image: rows top to bottom, each pixel's red, green and blue bytes interleaved
/// (the layout of PIL's `np.asarray(image.convert("RGB"))`).
public struct RGBImage: Sendable, Equatable {
    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// `height × width × 3` bytes.
    public let pixels: [UInt8]

    /// Creates an image; `pixels.count` must be `width × height × 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "RGBImage \(width)×\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}
