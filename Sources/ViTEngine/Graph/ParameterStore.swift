import Foundation

/// Immutable parameter tensors of one model, shared by all of its graphs and sessions.
///
/// All tensors live in one 64-byte aligned block, each padded to 16 floats, so kernels take
/// plain pointers. `@unchecked Sendable` because the memory is written only while the
/// ``ParameterStoreBuilder`` fills it and only read after, so sharing it cannot race.
final class ParameterStore: @unchecked Sendable {
    private let block: ParameterBlock
    private let offsets: [Int]
    private let counts: [Int]
    let names: [String]

    fileprivate init(block: ParameterBlock, offsets: [Int], counts: [Int], names: [String]) {
        self.block = block
        self.offsets = offsets
        self.counts = counts
        self.names = names
    }

    /// The first element of a parameter tensor.
    subscript(id: ParamID) -> UnsafePointer<Float> { UnsafePointer(block.floats + offsets[id.index]) }

    /// A copy of one parameter tensor (for tests and tools).
    func values(_ id: ParamID) -> [Float] {
        Array(UnsafeBufferPointer(start: self[id], count: counts[id.index]))
    }

    /// Total number of parameter floats (after BatchNorm folding).
    var floatCount: Int { counts.reduce(0, +) }
}

/// Collects parameters while an architecture folds its checkpoint into fused layers, appending
/// each tensor to the store's block at once, so the folded weights exist once (no list of
/// arrays copied into the store at the end: with glibc's adaptive mmap threshold, freed large
/// arrays stay in the heap and loading would peak at twice the weights).
struct ParameterStoreBuilder {
    private let block = ParameterBlock()
    private var offsets: [Int] = []
    private var counts: [Int] = []
    private var names: [String] = []

    mutating func add(_ values: [Float], name: String) -> ParamID {
        add(count: values.count, name: name) { out in
            values.withUnsafeBufferPointer { v in
                if let source = v.baseAddress { out.update(from: source, count: v.count) }
            }
        }
    }

    /// Stores `count` floats that `fill` writes in place, in the block itself (a large layer's
    /// reordered weight is never an array of its own).
    mutating func add(count: Int, name: String, fill: (UnsafeMutablePointer<Float>) -> Void) -> ParamID {
        offsets.append(block.append(count: count, fill: fill))
        counts.append(count)
        names.append(name)
        return ParamID(index: offsets.count - 1)
    }

    /// Makes room for tensors of these sizes, so pointers into the block stay valid while they
    /// are appended.
    func reserve(for counts: [Int]) { block.reserve(for: counts) }

    /// A stored tensor, valid until the block grows (see ``reserve(for:)``).
    func pointer(_ id: ParamID) -> UnsafePointer<Float> { UnsafePointer(block.floats + offsets[id.index]) }

    func build() -> ParameterStore { ParameterStore(block: block, offsets: offsets, counts: counts, names: names) }
}

/// One growing, 64-byte aligned block of floats. It grows with `realloc`, which moves a large
/// block by remapping its pages rather than copying them; capacity beyond what is written is
/// address space only, never touched. `@unchecked Sendable`: see ``ParameterStore``.
private final class ParameterBlock: @unchecked Sendable {
    private var base: UnsafeMutableRawPointer?
    /// Floats from `base` to the first 64-byte boundary.
    private var shift = 0
    private var capacity = 0
    private var used = 0

    var floats: UnsafeMutablePointer<Float> { (base! + shift * 4).assumingMemoryBound(to: Float.self) }

    /// Appends `count` floats that `fill` writes, followed by zeros up to a multiple of 16
    /// floats; returns their offset.
    func append(count: Int, fill: (UnsafeMutablePointer<Float>) -> Void) -> Int {
        let padded = padding(count)
        reserve(used + padded)
        let offset = used
        fill(floats + offset)
        (floats + offset + count).update(repeating: 0, count: padded - count)
        used += padded
        return offset
    }

    /// Room for appending tensors of these sizes.
    func reserve(for counts: [Int]) { reserve(used + counts.reduce(0) { $0 + padding($1) }) }

    private func padding(_ count: Int) -> Int { max(16, (count + 15) / 16 * 16) }

    private func reserve(_ count: Int) {
        guard count > capacity else { return }
        let newCapacity = max(count, capacity * 2, 4096)
        // 16 spare floats leave room to align the start to 64 bytes (malloc gives 16).
        guard let p = realloc(base, (newCapacity + 16) * 4) else {
            fatalError("out of memory: parameter store of \(newCapacity * 4) bytes")
        }
        let newShift = (64 - Int(bitPattern: p) % 64) % 64 / 4
        if newShift != shift, used > 0 { memmove(p + newShift * 4, p + shift * 4, used * 4) }
        base = p
        shift = newShift
        capacity = newCapacity
    }

    deinit { free(base) }
}
