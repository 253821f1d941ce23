import Foundation

/// What ``CheckpointConverter/convert(input:output:model:dtype:nonFinite:)`` wrote.
public struct ConversionSummary: Sendable, Equatable {
    /// The registered model the checkpoint holds the weights of.
    public var model: String
    /// Tensors written (the model's full tensor spec).
    public var tensorCount: Int
    /// The safetensors dtype written (`"F32"`, `"F16"` or `"BF16"`).
    public var dtype: String
    /// Keys of the input that were not written: buffers the engine derives (`attention_bias_idxs`,
    /// `num_batches_tracked`).
    public var skipped: [String]
    /// The `__metadata__` of the written file.
    public var metadata: [String: String]
}

/// Converts a checkpoint in any supported format and key layout (a `.pth` from the official
/// release or timm, or a safetensors file) to safetensors in the engine's canonical layout
/// (timm's key names, 1×1 convolution weights 4-D), checked against the model's tensor spec.
public enum CheckpointConverter {
    /// Converts `input` and writes `output` atomically (a failure leaves no file behind).
    ///
    /// - Parameters:
    ///   - input: The checkpoint to read (`.pth` or safetensors, detected from its bytes).
    ///   - output: The safetensors file to write.
    ///   - model: The registered model the file must hold; `nil` detects it from the tensor shapes.
    ///   - dtype: `"F32"`, `"F16"` or `"BF16"`; `nil` keeps the input's precision (F16 or BF16 when
    ///     every tensor is stored so, else F32), so half-precision checkpoints stay exact and small.
    ///   - nonFinite: What to do with NaN weights (refused by default; ``NonFiniteWeights/propagateNaN``
    ///     copies them as they are).
    /// - Returns: What was written, including the metadata: `format`, `architecture`, `model`,
    ///   `layout`, `source` (the input's file name), `source_sha256`, `converted_by`.
    public static func convert(input: String, output: String, model: String? = nil, dtype: String? = nil,
                               nonFinite: NonFiniteWeights = .refuse) throws(EngineError) -> ConversionSummary {
        let source = try WeightsFile.open(path: input)
        let info: ModelInfo
        if let model {
            info = try ModelRegistry.model(named: model)
        } else if let fitting = Model.modelFitting(source) {
            info = fitting
        } else {
            throw .invalidCheckpoint(path: input, reason: "its tensors fit none of the registered models ("
                                     + ModelRegistry.names.joined(separator: ", ") + "); pass --model NAME to list the differences")
        }
        let tensors = try Model.checkpointTensors(source, for: info, nonFinite: nonFinite)
        let keyMap = Model.checkpointKeyMap(info, for: source)
        var dtypes = Set<String>(), skipped: [String] = []
        for key in source.names {
            if case .tensor? = keyMap(key) { dtypes.insert(source.dtype(key) ?? "?") } else { skipped.append(key) }
        }
        let outputDType = dtype?.uppercased() ?? (dtypes.count == 1 && ["F16", "BF16"].contains(dtypes.first!) ? dtypes.first! : "F32")
        guard ["F32", "F16", "BF16"].contains(outputDType) else {
            throw .writeFailed(path: output, reason: "dtype '\(dtype ?? "")' is not one of f32, f16, bf16")
        }
        let metadata = [
            "format": "pt",
            "architecture": info.family,
            "model": info.name,
            "layout": "timm",
            "source": URL(fileURLWithPath: input).lastPathComponent,
            "source_format": source is TorchCheckpoint ? "pytorch" : "safetensors",
            "source_sha256": try SHA256.hexDigest(ofFile: input),
            "converted_by": "vit convert",
        ]
        let spec = Model.tensorSpec(for: info)
        let values = spec.map { ($0.name, $0.shape, tensors[$0.name]) }
        // A tensor that could not be decoded exactly (an integer or F64 dtype, an unknown one, a
        // corrupt member) is refused by name, never written as the zeros the read left behind.
        if let error = tensors.firstError { throw error }
        try SafeTensorsWriter.write(values, dtype: outputDType, metadata: metadata, to: output)
        return ConversionSummary(model: info.name, tensorCount: spec.count, dtype: outputDType,
                                 skipped: skipped, metadata: metadata)
    }
}
