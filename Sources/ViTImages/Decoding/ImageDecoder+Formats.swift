import CImageDecoders

// The format-specific halves of ImageDecoder: run the C decoder into a buffer sized from the
// (limit-checked) header, then convert its samples to RGB as PIL's convert("RGB") does.
extension ImageDecoder {
    func decodeJPEG(_ bytes: UnsafeBufferPointer<UInt8>, path: String) throws(ImageError) -> RGBImage {
        let info = try inspect(bytes, format: .jpeg, path: path)
        let width = Int(info.width), height = Int(info.height), channels = Int(info.channels)
        let samples = try decodeSamples(count: width * height * channels, format: .jpeg, path: path) { buffer, message in
            vit_jpeg_decode(bytes.baseAddress, bytes.count, buffer.baseAddress, buffer.count,
                            Int32(clamping: maximumProgressiveScans), message.baseAddress, message.count)
        }
        let pixels: [UInt8]
        switch channels {
        case 1: pixels = Self.grayToRGB(samples, stride: 1)
        case 3: pixels = samples
        case 4: pixels = Self.invertedCMYKToRGB(samples)
        default:
            throw .unsupported(path: path, format: .jpeg, reason: "\(channels) output channels")
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    func decodePNG(_ bytes: UnsafeBufferPointer<UInt8>, path: String) throws(ImageError) -> RGBImage {
        let info = try inspect(bytes, format: .png, path: path)
        let width = Int(info.width), height = Int(info.height), channels = Int(info.channels)
        let sampleBytes = Int(info.bits_per_sample) == 16 ? 2 : 1
        let samples = try decodeSamples(count: width * height * channels * sampleBytes, format: .png, path: path) {
            buffer, message in
            vit_png_decode(bytes.baseAddress, bytes.count, buffer.baseAddress, buffer.count, message.baseAddress, message.count)
        }
        let pixels: [UInt8]
        switch (channels, sampleBytes) {
        case (1, 1): pixels = Self.grayToRGB(samples, stride: 1)
        case (2, 1): pixels = Self.grayToRGB(samples, stride: 2)
        case (3, 1): pixels = samples
        case (4, 1): pixels = Self.dropAlpha(samples)
        // PIL opens 16-bit gray as mode I;16 and converts it to RGB by clipping at 255.
        case (1, 2): pixels = Self.clipped16BitGrayToRGB(samples)
        // Other 16-bit modes are unpacked by PIL to 8 bits by keeping the high (first) byte.
        case (2, 2), (3, 2), (4, 2):
            let high = stride(from: 0, to: samples.count, by: 2).map { samples[$0] }
            switch channels {
            case 2: pixels = Self.grayToRGB(high, stride: 2)
            case 3: pixels = high
            default: pixels = Self.dropAlpha(high)
            }
        default:
            throw .unsupported(path: path, format: .png, reason: "\(channels) channels of \(info.bits_per_sample) bits")
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Allocates `count` bytes (already bounded by the pixel limit) and lets `decode` fill them.
    private func decodeSamples(
        count: Int, format: ImageFormat, path: String,
        _ decode: (UnsafeMutableBufferPointer<UInt8>, UnsafeMutableBufferPointer<CChar>) -> vit_decode_status
    ) throws(ImageError) -> [UInt8] {
        var message = [CChar](repeating: 0, count: 256)
        var status = VIT_DECODE_OK
        let samples = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            // Zeroed first so that the array never exposes uninitialized memory, whatever the C side did.
            buffer.initialize(repeating: 0)
            status = message.withUnsafeMutableBufferPointer { decode(buffer, $0) }
            initialized = count
        }
        try check(status, message: message, format: format, path: path)
        return samples
    }

    /// Gray (every `stride`-th byte, so gray+alpha too) to RGB: the value in all three channels.
    static func grayToRGB(_ samples: [UInt8], stride: Int) -> [UInt8] {
        let pixelCount = samples.count / stride
        return [UInt8](unsafeUninitializedCapacity: pixelCount * 3) { out, initialized in
            samples.withUnsafeBufferPointer { input in
                for i in 0..<pixelCount {
                    let v = input[i * stride]
                    out[3 * i] = v
                    out[3 * i + 1] = v
                    out[3 * i + 2] = v
                }
            }
            initialized = pixelCount * 3
        }
    }

    /// RGBA to RGB: alpha dropped, colour kept as stored (PIL does not blend).
    static func dropAlpha(_ samples: [UInt8]) -> [UInt8] {
        let pixelCount = samples.count / 4
        return [UInt8](unsafeUninitializedCapacity: pixelCount * 3) { out, initialized in
            samples.withUnsafeBufferPointer { input in
                for i in 0..<pixelCount {
                    out[3 * i] = input[4 * i]
                    out[3 * i + 1] = input[4 * i + 1]
                    out[3 * i + 2] = input[4 * i + 2]
                }
            }
            initialized = pixelCount * 3
        }
    }

    /// 16-bit big-endian gray to RGB the way PIL converts mode I;16: min(value, 255).
    static func clipped16BitGrayToRGB(_ samples: [UInt8]) -> [UInt8] {
        let pixelCount = samples.count / 2
        return [UInt8](unsafeUninitializedCapacity: pixelCount * 3) { out, initialized in
            samples.withUnsafeBufferPointer { input in
                for i in 0..<pixelCount {
                    let v: UInt8 = input[2 * i] == 0 ? input[2 * i + 1] : 255
                    out[3 * i] = v
                    out[3 * i + 1] = v
                    out[3 * i + 2] = v
                }
            }
            initialized = pixelCount * 3
        }
    }

    /// CMYK as libjpeg returns it from an Adobe file (inverted) to RGB, as PIL does: PIL always
    /// unpacks 4-component JPEGs as inverted CMYK ("CMYK;I"), then converts with
    /// `R = clip(255−K − MULDIV255(C, 255−K))`, where `MULDIV255(a, b)` is `(t + (t >> 8)) >> 8`
    /// with `t = a·b + 128` (a rounded a·b/255).
    static func invertedCMYKToRGB(_ samples: [UInt8]) -> [UInt8] {
        let pixelCount = samples.count / 4
        return [UInt8](unsafeUninitializedCapacity: pixelCount * 3) { out, initialized in
            samples.withUnsafeBufferPointer { input in
                for i in 0..<pixelCount {
                    // Un-inverting K gives 255−K back as the stored byte.
                    let notK = Int(input[4 * i + 3])
                    for c in 0..<3 {
                        let ink = 255 - Int(input[4 * i + c])
                        let t = ink * notK + 128
                        let value = notK - (((t >> 8) + t) >> 8)
                        out[3 * i + c] = UInt8(clamping: value)
                    }
                }
            }
            initialized = pixelCount * 3
        }
    }
}
