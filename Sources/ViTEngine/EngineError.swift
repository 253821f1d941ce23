import Foundation

/// Every failure the engine reports. Each case names the file, tensor or field at fault and what
/// was expected, so a user can act on the message without reading the engine's code.
public enum EngineError: Error, Equatable, Sendable {
    /// The file could not be opened or read.
    case fileUnreadable(path: String, reason: String)
    /// A safetensors file is malformed (header length, JSON, offsets, sizes).
    case invalidSafetensors(path: String, reason: String)
    /// A tensor the model needs is absent from the weights file.
    case missingTensors(names: [String], path: String)
    /// The weights file holds tensors the model does not use; they are listed, never ignored silently.
    case unexpectedTensors(names: [String], path: String)
    /// A tensor has a different shape than the model configuration implies.
    case shapeMismatch(tensor: String, expected: [Int], found: [Int], path: String)
    /// A tensor is stored in a data type the engine cannot read as floating point.
    case unsupportedDType(tensor: String, dtype: String, path: String)
    /// The weights file fits other registered models than the one asked for (several when they
    /// share an architecture, e.g. ViT-S and DeiT-S).
    case wrongModel(path: String, requested: String, matches: [String])
    /// A NumPy `.npy` file is malformed or holds data the engine does not accept.
    case invalidNPY(path: String, reason: String)
    /// An input tensor's shape does not fit the model.
    case invalidInputShape(expected: String, found: [Int])
    /// No model of that name is registered.
    case unknownModel(name: String, available: [String])
    /// A model configuration is inconsistent (e.g. channels not divisible by heads).
    case invalidConfiguration(model: String, reason: String)
    /// A file could not be written.
    case writeFailed(path: String, reason: String)
    /// A PyTorch checkpoint (`.pth`/`.bin`: a zip archive holding a pickle) is malformed or holds
    /// something other than tensors in a state dict (truncated zip, bad central directory, pickle
    /// opcode outside the supported subset, storage shorter than a tensor's view, …).
    case invalidCheckpoint(path: String, reason: String)
    /// A checkpoint's pickle names a Python global outside the loader's allow-list (e.g.
    /// `os.system`). Nothing from the file is ever executed; the file is refused.
    case forbiddenPickleGlobal(path: String, global: String)
    /// Pretrained weights could not be downloaded; `destination` is where a manually fetched file belongs.
    case downloadFailed(url: String, reason: String, destination: String)
    /// The registry has no URL for `model`'s weights from `source`; `advice` says where else
    /// they are (another source, or a page to fetch them from by hand), or is empty.
    case noWeightsURL(model: String, source: String, advice: String)
    /// A file's SHA-256 is not the one expected (given by the user or the registry).
    case checksumMismatch(path: String, expected: String, found: String)
    /// The kernel instruction set asked for (`VIT_ISA`, `--isa`) names no tier or cannot run on this CPU.
    case kernelISA(KernelISAError)
    /// A tensor's values cannot be used: a NaN or infinity, or a negative BatchNorm variance
    /// (`reason` names the element).
    case invalidWeightValue(tensor: String, path: String, reason: String)
    /// A setting (an environment variable such as `VIT_DOWNLOAD_DEADLINE`, or an option) has a
    /// value that cannot be used; it is refused, never replaced by a default.
    case invalidSetting(name: String, reason: String)
}

extension EngineError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .invalidWeightValue(tensor, path, reason):
            return "'\(path)': tensor '\(tensor)': \(reason)"
        case let .invalidSetting(name, reason):
            return "\(name): \(reason)"
        case let .fileUnreadable(path, reason):
            return "cannot read '\(path)': \(reason)"
        case let .invalidSafetensors(path, reason):
            return "'\(path)' is not a valid safetensors file: \(reason)"
        case let .missingTensors(names, path):
            return "'\(path)' lacks \(names.count) tensor(s) the model needs: \(Self.list(names))"
        case let .unexpectedTensors(names, path):
            return "'\(path)' holds \(names.count) tensor(s) this model does not use: \(Self.list(names))"
        case let .shapeMismatch(tensor, expected, found, path):
            return "tensor '\(tensor)' in '\(path)' has shape \(found), expected \(expected)"
        case let .unsupportedDType(tensor, dtype, path):
            return "tensor '\(tensor)' in '\(path)' has dtype \(dtype); expected F32, F16 or BF16"
        case let .wrongModel(path, requested, matches):
            let others = matches.count > 1
                ? " (or of \(matches.dropFirst().joined(separator: ", ")): the same architecture)" : ""
            return "'\(path)' holds the weights of \(matches[0])\(others), not \(requested); "
                + "run it with --model \(matches[0])"
        case let .invalidNPY(path, reason):
            return "'\(path)' is not a usable .npy file: \(reason)"
        case let .invalidInputShape(expected, found):
            return "input has shape \(found), expected \(expected)"
        case let .unknownModel(name, available):
            return "unknown model '\(name)'; available: \(available.joined(separator: ", "))"
        case let .invalidConfiguration(model, reason):
            return "model '\(model)' is misconfigured: \(reason)"
        case let .writeFailed(path, reason):
            return "cannot write '\(path)': \(reason)"
        case let .invalidCheckpoint(path, reason):
            return "'\(path)' is not a valid PyTorch checkpoint: \(reason)"
        case let .forbiddenPickleGlobal(path, global):
            return "'\(path)' refers to the Python global '\(global)', which a weights file has no reason to "
                + "use; the file is refused (nothing in it was executed)"
        case let .downloadFailed(url, reason, destination):
            return "cannot download \(url): \(reason). Fetch that file by other means and put it at "
                + "'\(destination)', or pass --weights FILE"
        case let .noWeightsURL(model, source, advice):
            return "the registry lists no \(source) weights URL for \(model)"
                + (advice.isEmpty ? "" : " (\(advice))") + "; pass a weights file with --weights FILE"
        case let .checksumMismatch(path, expected, found):
            return "'\(path)' has SHA-256 \(found), expected \(expected)"
        case let .kernelISA(error):
            return error.description
        }
    }

    public var errorDescription: String? { description }

    private static func list(_ names: [String]) -> String {
        let shown = names.prefix(20).joined(separator: ", ")
        return names.count > 20 ? shown + ", … (\(names.count - 20) more)" : shown
    }
}
