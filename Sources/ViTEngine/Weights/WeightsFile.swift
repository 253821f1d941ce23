import Foundation

/// Opens a weights file in whichever format it is in.
public enum WeightsFile {
    /// Opens `path` as a PyTorch checkpoint (`.pth`/`.bin`, a zip archive) or a safetensors file,
    /// telling them apart by their first bytes, never by the extension: a `.bin` may be either,
    /// and a renamed file still loads.
    ///
    /// - Throws: ``EngineError/fileUnreadable(path:reason:)``, or the format's own error
    ///   (``EngineError/invalidSafetensors(path:reason:)``, ``EngineError/invalidCheckpoint(path:reason:)``,
    ///   ``EngineError/forbiddenPickleGlobal(path:global:)``).
    public static func open(path: String) throws(EngineError) -> any TensorSource {
        let file = try MappedFile(path: path)
        return try open(data: file.data, path: path, mapping: file)
    }

    /// Decodes weights already in memory, in either format; `path` is only used in error messages.
    public static func open(data: Data, path: String) throws(EngineError) -> any TensorSource {
        try open(data: data, path: path, mapping: nil)
    }

    /// `mapping` is the file `data` views, if it was mapped: readers give its pages back as they go.
    static func open(data: Data, path: String, mapping: MappedFile?) throws(EngineError) -> any TensorSource {
        if ZipArchive.looksLikeZip(data) { return try TorchCheckpoint(data: data, path: path, mapping: mapping) }
        // torch.save before PyTorch 1.6 (or with _use_new_zipfile_serialization=False) writes a bare
        // pickle stream, which starts with the PROTO opcode; say so rather than "bad safetensors".
        // Not from that byte alone: a safetensors file starts with its header's length, whose low
        // byte is 0x80 for about one valid file in 32 (lengths are padded to multiples of 8); its
        // JSON header then opens at byte 8, where a pickle stream has its magic number.
        if data.first == 0x80, !(data.count > 8 && data[data.startIndex + 8] == UInt8(ascii: "{")) {
            throw .invalidCheckpoint(path: path, reason: "it is a legacy (pre-1.6, non-zip) torch.save file, which is not "
                                     + "supported; re-save it with a current PyTorch or convert it with scripts/convert_checkpoint.py")
        }
        return try SafeTensorsFile(data: data, path: path, mapping: mapping)
    }
}

extension Model {
    /// Checks that `weights` loads as `info`'s model: the loader itself runs (every tensor read and
    /// decoded, BatchNorm folded), so a file that passes is one `Model.load` accepts — not only
    /// one whose names and shapes fit (an integer-typed tensor fits, and fails to load). Used to
    /// verify a download before it enters the cache.
    ///
    /// - Throws: the same errors as loading: missing, unexpected or misshapen tensors, unreadable data,
    ///   or ``EngineError/wrongModel(path:requested:matches:)`` when the file fits another model.
    public static func validateWeights(_ weights: some TensorSource, for info: ModelInfo) throws(EngineError) {
        _ = try Model(info: info, weights: weights)
    }

    /// Checks, without reading tensor data, that `weights` has every tensor of `info`'s model by
    /// name and shape: cheap enough for each use of a cached file.
    public static func checkWeightsLayout(_ weights: some TensorSource, for info: ModelInfo) throws(EngineError) {
        _ = try checkpointTensors(weights, for: info)
    }

    /// The registered model whose tensor spec `weights` fits exactly, if any (reads no tensor data).
    public static func modelFitting(_ weights: some TensorSource) -> ModelInfo? {
        ModelRegistry.all.first { CheckpointLoader.fits(weights, spec: tensorSpec(for: $0), keyMap: checkpointKeyMap($0, for: weights)) }
    }
}
