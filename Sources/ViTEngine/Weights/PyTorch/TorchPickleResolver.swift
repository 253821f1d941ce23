import Foundation

/// An element type of a torch storage, named as safetensors names dtypes.
enum TorchDType: String, Sendable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64", i64 = "I64", i32 = "I32"

    var byteCount: Int {
        switch self {
        case .f16, .bf16: 2
        case .f32, .i32: 4
        case .f64, .i64: 8
        }
    }
}

/// A storage a checkpoint's pickle refers to by persistent id: the archive member holding it.
struct TorchStorage: Sendable, Equatable {
    let dtype: TorchDType
    let entry: ZipEntry
    /// Elements the storage holds (its member has at least this many bytes' worth).
    let count: Int
}

/// A tensor as `_rebuild_tensor_v2` describes it: a strided view into a storage.
struct TorchTensor: Sendable, Equatable {
    let storage: TorchStorage
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}

/// torch's side of unpickling: the allow-list of globals, what each does when "called", and
/// persistent ids naming storages in the archive.
///
/// Only these globals are accepted; any other (`os.system`, `builtins.eval`,
/// `subprocess.Popen`, a model class) is refused by name before anything else happens.
struct TorchPickleResolver: PickleResolver {
    let archive: ZipArchive
    /// The archive's top folder, e.g. `efficientvit_m0/`, under which `data/<key>` members live.
    let prefix: String

    static let storageTypes: [String: TorchDType] = [
        "torch.FloatStorage": .f32, "torch.HalfStorage": .f16, "torch.BFloat16Storage": .bf16,
        "torch.DoubleStorage": .f64, "torch.LongStorage": .i64, "torch.IntStorage": .i32,
    ]
    static let callables: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
        // Training scripts store their options (Cream: `args`) next to the weights; kept inert.
        "argparse.Namespace",
        // Protocol 2 pickles `bytes` as `_codecs.encode(text, 'latin1')`.
        "_codecs.encode",
    ]
    /// Every global a checkpoint may name.
    static var allowList: Set<String> { callables.union(storageTypes.keys) }

    private var path: String { archive.path }
    private func invalid(_ reason: String) -> EngineError { .invalidCheckpoint(path: path, reason: "data.pkl: \(reason)") }

    func global(_ dottedName: String) throws(EngineError) -> PickleObject {
        let name = Self.python3Name(dottedName)
        guard Self.allowList.contains(name) else { throw .forbiddenPickleGlobal(path: path, global: name) }
        return .global(name)
    }

    /// Protocol 2 writes some globals under their Python 2 module names (`__builtin__.eval`,
    /// `commands.Popen`) or the platform module (`posix.system` for `os.system`); name them as a
    /// Python 3 user knows them, both for the allow-list and in errors.
    static func python3Name(_ dottedName: String) -> String {
        let renamed = ["__builtin__": "builtins", "commands": "subprocess", "copy_reg": "copyreg", "posix": "os", "nt": "os"]
        guard let dot = dottedName.firstIndex(of: "."), let module = renamed[String(dottedName[..<dot])] else { return dottedName }
        return module + dottedName[dot...]
    }

    func call(_ name: String, arguments: [PickleValue], heap: inout PickleHeap) throws(EngineError) -> PickleValue {
        switch name {
        case "collections.OrderedDict":
            guard arguments.isEmpty else { throw invalid("OrderedDict is called with \(arguments.count) arguments, expected none") }
            return heap.add(.dict([]))
        case "argparse.Namespace":
            return heap.add(.record("argparse.Namespace"))
        case "_codecs.encode":
            guard arguments.count == 2, case let .string(text) = arguments[0], case .string("latin1") = arguments[1],
                  text.unicodeScalars.allSatisfy({ $0.value < 256 }) else {
                throw invalid("_codecs.encode is called with other arguments than (latin-1 text, 'latin1')")
            }
            return .bytes(Data(text.unicodeScalars.map { UInt8($0.value) }))
        case "torch._utils._rebuild_parameter":
            // (data, requires_grad, backward_hooks): the parameter is its data.
            guard arguments.count == 3, case .tensor? = heap[arguments[0]] else {
                throw invalid("_rebuild_parameter expects (tensor, requires_grad, hooks), got \(arguments.count) arguments")
            }
            return arguments[0]
        case "torch._utils._rebuild_tensor_v2":
            return heap.add(.tensor(try rebuildTensor(arguments, heap: heap)))
        default:
            throw invalid("the global \(name) cannot be called")
        }
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`.
    private func rebuildTensor(_ arguments: [PickleValue], heap: PickleHeap) throws(EngineError) -> TorchTensor {
        guard (6...7).contains(arguments.count), case let .storage(storage)? = heap[arguments[0]],
              case let .int(offset) = arguments[1],
              case let .tuple(sizeItems)? = heap[arguments[2]], case let .tuple(strideItems)? = heap[arguments[3]] else {
            throw invalid("_rebuild_tensor_v2 expects (storage, offset, size tuple, stride tuple, …), "
                          + "got \(arguments.map { heap.kind($0) }.joined(separator: ", "))")
        }
        var shape: [Int] = [], strides: [Int] = []
        for item in sizeItems {
            guard case let .int(v) = item, v >= 0 else { throw invalid("a tensor size is \(heap.kind(item)), expected a non-negative int") }
            shape.append(v)
        }
        for item in strideItems {
            guard case let .int(v) = item, v >= 0 else { throw invalid("a tensor stride is \(heap.kind(item)), expected a non-negative int") }
            strides.append(v)
        }
        guard shape.count == strides.count, shape.count <= 8 else {
            throw invalid("a tensor has \(shape.count) sizes and \(strides.count) strides (at most 8 dimensions, equal counts)")
        }
        guard offset >= 0 else { throw invalid("a tensor has storage offset \(offset)") }
        // The view's elements: none when a size is 0; otherwise the last one it reaches must lie
        // inside the storage. Overflow-checked, since these numbers come from the file.
        var count = 1, last = offset
        for (size, stride) in zip(shape, strides) {
            let (c, o1) = count.multipliedReportingOverflow(by: size)
            let (reach, o2) = max(size - 1, 0).multipliedReportingOverflow(by: stride)
            let (l, o3) = last.addingReportingOverflow(reach)
            guard !o1, !o2, !o3 else { throw invalid("tensor of shape \(shape), strides \(strides) overflows") }
            count = c
            last = l
        }
        if count > 0, last >= storage.count {
            throw invalid("a tensor view (shape \(shape), strides \(strides), offset \(offset)) reaches element \(last) "
                          + "but its storage '\(storage.entry.name)' holds only \(storage.count)")
        }
        // Views that repeat elements (stride 0) could otherwise ask for far more memory than the file holds.
        guard count <= max(storage.count, 1) else {
            throw invalid("a tensor of shape \(shape) repeats the \(storage.count) elements of its storage; not supported")
        }
        // A dimension of size 1 never advances, whatever its stride (torch leaves arbitrary ones
        // there); zero them so that walking the view cannot overflow on a huge unused stride.
        for dim in shape.indices where shape[dim] == 1 { strides[dim] = 0 }
        return TorchTensor(storage: storage, offset: offset, shape: shape, strides: strides)
    }

    /// `('storage', storage_type, key, location, numel)`: the member `<prefix>data/<key>`.
    func persistentLoad(_ id: PickleValue, heap: inout PickleHeap) throws(EngineError) -> PickleValue {
        guard case let .tuple(items)? = heap[id], items.count == 5, case .string("storage") = items[0],
              case let .global(typeName)? = heap[items[1]], case let .string(key) = items[2],
              case let .int(count) = items[4], count >= 0 else {
            throw invalid("a persistent id is not ('storage', storage type, key, location, numel)")
        }
        guard let dtype = Self.storageTypes[typeName] else { throw invalid("\(typeName) is not a storage type") }
        let memberName = prefix + "data/" + key
        guard let entry = archive.entry(named: memberName) else {
            throw invalid("storage '\(key)' has no archive member '\(memberName)'")
        }
        let (needed, overflow) = count.multipliedReportingOverflow(by: dtype.byteCount)
        guard !overflow, entry.dataRange.count >= needed else {
            throw .invalidCheckpoint(path: path, reason: "storage '\(memberName)' should hold \(count) \(dtype.rawValue) "
                                     + "elements but has only \(entry.dataRange.count) bytes")
        }
        return heap.add(.storage(TorchStorage(dtype: dtype, entry: entry, count: count)))
    }
}
