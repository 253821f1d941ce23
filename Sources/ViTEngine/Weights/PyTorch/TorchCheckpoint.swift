import Foundation

/// A PyTorch checkpoint written by `torch.save` (a `.pth` or `pytorch_model.bin`), read without
/// Python and without executing anything from the file.
///
/// The file is a zip archive holding `<name>/data.pkl` (a pickle of the saved object) and one
/// member per tensor storage (`<name>/data/<key>`). The pickle must build a state dict: either a
/// dict of tensors (timm's files) or a dict whose `"model"` (or `"state_dict"`, `"model_state"`)
/// entry is one (the official Cream release's `{'model': …, 'epoch': …}`, the "Which Transformer
/// to Favor" benchmark's `{'model_state': …, 'args': …, 'stats': …}`); other top-level entries are
/// listed in ``otherEntries`` and not read. Only an allow-list of globals is accepted (see
/// ``allowedGlobals``); any other is refused with ``EngineError/forbiddenPickleGlobal(path:global:)``.
///
/// Tensors may be strided views with a storage offset (slices, transposes saved as they are):
/// ``floats(_:)`` materializes them contiguously in row-major order.
public struct TorchCheckpoint: TensorSource {
    /// The file's path, used in error messages.
    public let path: String
    /// The state dict's keys, sorted.
    public let names: [String]
    /// Top-level entries besides the state dict (e.g. `epoch`, `optimizer`), sorted; empty for a bare state dict.
    public let otherEntries: [String]
    private let archive: ZipArchive
    private let tensors: [String: TorchTensor]

    /// The Python globals a checkpoint's pickle may name; anything else is refused.
    public static var allowedGlobals: [String] { TorchPickleResolver.allowList.sorted() }

    /// The entries of a wrapping dict that may hold the state dict, in the order they are tried.
    static let wrapperKeys = ["model", "state_dict", "model_state"]

    /// Opens the checkpoint at `path` (memory-mapped) and decodes its pickle.
    ///
    /// - Throws: ``EngineError/fileUnreadable(path:reason:)``,
    ///   ``EngineError/invalidCheckpoint(path:reason:)`` or ``EngineError/forbiddenPickleGlobal(path:global:)``.
    public init(path: String) throws(EngineError) {
        let file = try MappedFile(path: path)
        try self.init(data: file.data, path: path, mapping: file)
    }

    /// Decodes checkpoint bytes already in memory; `path` is only used in error messages.
    public init(data: Data, path: String) throws(EngineError) {
        try self.init(data: data, path: path, mapping: nil)
    }

    /// `mapping` is the file `data` views, if it was mapped: members' pages are given back once
    /// checked and once read, so opening and loading never hold the whole file resident.
    init(data: Data, path: String, mapping: MappedFile?) throws(EngineError) {
        let archive = try ZipArchive(data: data, path: path, mapping: mapping)
        // torch.save names the top folder after the file; the pickle is the one data.pkl under it.
        let pickles = archive.entries.filter { entry in
            let parts = entry.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && parts[1] == "data.pkl"
        }
        guard pickles.count == 1, let pickle = pickles.first else {
            throw .invalidCheckpoint(path: path, reason: pickles.isEmpty
                ? "the zip archive holds no '<name>/data.pkl' (not a torch.save file)"
                : "the zip archive holds \(pickles.count) data.pkl members")
        }
        // Check every member's CRC-32 once, here: a corrupt or tampered file fails on opening, and
        // reading tensors later (several may share one storage) re-reads nothing.
        for entry in archive.entries where entry != pickle {
            _ = try archive.contents(of: entry)
            archive.finishedReading(entry)
        }
        let prefix = String(pickle.name.dropLast("data.pkl".count))
        var unpickler = Unpickler(bytes: try archive.contents(of: pickle), path: path,
                                  resolver: TorchPickleResolver(archive: archive, prefix: prefix))
        let root = try unpickler.load()
        archive.releaseResidentPages()  // the pickle and the central directory are parsed
        let heap = unpickler.heap

        func invalid(_ reason: String) -> EngineError { .invalidCheckpoint(path: path, reason: reason) }
        func entries(_ value: PickleValue) -> [(key: PickleValue, value: PickleValue)]? {
            if case let .dict(items)? = heap[value] { return items }
            return nil
        }
        guard let top = entries(root) else {
            throw invalid("the saved object is \(heap.kind(root)), expected a dict (a state dict or {'model': state dict, …})")
        }
        var stateDict = top
        var others: [String] = []
        for wrapper in Self.wrapperKeys {
            if let inner = top.last(where: { $0.key == .string(wrapper) }), let dict = entries(inner.value) {
                stateDict = dict
                others = top.compactMap { if case let .string(k) = $0.key, k != wrapper { k } else { nil } }
                break
            }
        }
        var tensors: [String: TorchTensor] = [:]
        for (key, value) in stateDict {
            guard case let .string(name) = key else { throw invalid("a state dict key is \(heap.kind(key)), expected a string") }
            guard case let .tensor(tensor)? = heap[value] else {
                throw invalid("state dict entry '\(name)' is \(heap.kind(value)), expected a tensor")
            }
            tensors[name] = tensor
        }
        self.path = path
        self.archive = archive
        self.tensors = tensors
        self.names = tensors.keys.sorted()
        self.otherEntries = others.sorted()
    }

    /// The tensor's dtype (safetensors spelling, e.g. `"F16"`, `"I64"`) and shape, or `nil`.
    public func info(_ name: String) -> (dtype: String, shape: [Int])? {
        tensors[name].map { ($0.storage.dtype.rawValue, $0.shape) }
    }

    /// The tensor's shape (of the view, not of its storage), or `nil`.
    public func shape(_ name: String) -> [Int]? { tensors[name]?.shape }

    /// The tensor's storage dtype in safetensors spelling (`"F32"`, `"F16"`, `"BF16"`, `"F64"`,
    /// `"I64"`, `"I32"`), or `nil`.
    public func dtype(_ name: String) -> String? { tensors[name]?.storage.dtype.rawValue }

    /// Tensor `name`'s values as Float in row-major order, whatever its strides and offset.
    /// F32, F16, BF16 and F64 are read; integer tensors throw ``EngineError/unsupportedDType(tensor:dtype:path:)``.
    public func floats(_ name: String) throws(EngineError) -> [Float] {
        guard let tensor = tensors[name] else { throw .missingTensors(names: [name], path: path) }
        let element: (UnsafeRawBufferPointer, Int) -> Float
        switch tensor.storage.dtype {
        case .f32: element = { Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 4, as: UInt32.self))) }
        case .f16: element = { halfBitsToFloat(UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 2, as: UInt16.self))) }
        case .bf16: element = { bfloat16BitsToFloat(UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 2, as: UInt16.self))) }
        case .f64: element = { Float(Double(bitPattern: UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 8, as: UInt64.self)))) }
        case .i64, .i32: throw .unsupportedDType(tensor: name, dtype: tensor.storage.dtype.rawValue, path: path)
        }
        let storage = archive.bytes(of: tensor.storage.entry)  // CRC checked on opening
        defer { archive.finishedReading(tensor.storage.entry) }
        let count = tensor.shape.reduce(1, *)
        return storage.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                // Walk the view's indices like an odometer, last dimension fastest (row-major).
                var index = [Int](repeating: 0, count: tensor.shape.count)
                var source = tensor.offset
                for flat in 0..<count {
                    buffer[flat] = element(raw, source)
                    var dim = tensor.shape.count - 1
                    while dim >= 0 {
                        index[dim] += 1
                        source += tensor.strides[dim]
                        if index[dim] < tensor.shape[dim] { break }
                        source -= tensor.strides[dim] * tensor.shape[dim]
                        index[dim] = 0
                        dim -= 1
                    }
                }
                initialized = count
            }
        }
    }
}
