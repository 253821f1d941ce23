import Foundation

/// A value the unpickler handles. Compound values live in ``PickleHeap`` and are referred to by
/// index: no value owns another, so a maliciously deep nesting cannot overflow the stack when it
/// is freed, and shared or self-referencing objects need no special care.
enum PickleValue: Equatable {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer outside `Int`'s range: kept only so that unused entries do not fail the file.
    case largeInt
    case float(Double)
    case string(String)
    case bytes(Data)
    case object(Int)
}

/// The compound objects a state-dict pickle builds.
enum PickleObject {
    case list([PickleValue])
    case tuple([PickleValue])
    /// Entries in insertion order, as Python dicts and `OrderedDict`s keep them.
    case dict([(key: PickleValue, value: PickleValue)])
    /// A reference to an allowed global such as `collections.OrderedDict`, by its dotted name.
    case global(String)
    /// A tensor storage loaded through a persistent id. (Boxed, like the tensor: every object
    /// is as large as the largest case, and a pickle builds thousands of small ones.)
    indirect case storage(TorchStorage)
    indirect case tensor(TorchTensor)
    /// An inert attribute bag (e.g. an `argparse.Namespace` of training options): never executed.
    case record(String)
}

/// All compound objects created while unpickling; ``PickleValue/object(_:)`` indexes into it.
struct PickleHeap {
    private(set) var objects: [PickleObject] = []

    mutating func add(_ object: PickleObject) -> PickleValue {
        objects.append(object)
        return .object(objects.count - 1)
    }

    subscript(value: PickleValue) -> PickleObject? {
        if case let .object(index) = value { return objects[index] }
        return nil
    }

    mutating func replace(_ index: Int, with object: PickleObject) { objects[index] = object }

    /// A short description of a value's type for error messages, in Python's terms.
    func kind(_ value: PickleValue) -> String {
        switch value {
        case .none: "None"
        case .bool: "bool"
        case .int, .largeInt: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .object:
            switch self[value]! {
            case .list: "list"
            case .tuple: "tuple"
            case .dict: "dict"
            case .global(let name): "the global \(name)"
            case .storage: "a tensor storage"
            case .tensor: "tensor"
            case .record(let name): name
            }
        }
    }
}

/// What the pickle machine asks of the format it decodes: which globals may be named, what
/// calling one builds, and what a persistent id refers to. Keeps torch's conventions out of the
/// opcode interpreter.
protocol PickleResolver {
    /// The object for `module.name`, or ``EngineError/forbiddenPickleGlobal(path:global:)``.
    func global(_ dottedName: String) throws(EngineError) -> PickleObject
    /// The result of calling an allowed global with `arguments` (REDUCE and NEWOBJ).
    func call(_ dottedName: String, arguments: [PickleValue], heap: inout PickleHeap) throws(EngineError) -> PickleValue
    /// The object a persistent id (BINPERSID) stands for.
    func persistentLoad(_ id: PickleValue, heap: inout PickleHeap) throws(EngineError) -> PickleValue
}

/// Interprets the subset of the pickle format (protocols 2–5) that `torch.save` writes for a state
/// dict. Nothing is ever executed: globals are looked up in the resolver's allow-list and
/// "calling" one builds an inert value. Every length is checked against the bytes that remain,
/// so memory use is bounded by a small multiple of the pickle's size.
struct Unpickler<Resolver: PickleResolver> {
    let bytes: Data
    let path: String
    let resolver: Resolver
    private(set) var heap = PickleHeap()
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var position = 0

    init(bytes: Data, path: String, resolver: Resolver) {
        self.bytes = bytes.startIndex == 0 ? bytes : Data(bytes)
        self.path = path
        self.resolver = resolver
    }

    private func invalid(_ reason: String) -> EngineError {
        .invalidCheckpoint(path: path, reason: "data.pkl: \(reason)")
    }

    /// How many values (heap objects, stack entries and memo entries together) a pickle of
    /// `byteCount` bytes may hold at once. An opcode of one byte can push a value, so without a
    /// bound a 20 MB pickle of EMPTY_LIST opcodes built 20 million objects (3 GB); a state dict
    /// spends tens of bytes per value (its keys, globals and tuples), far below one in four.
    static func valueBudget(byteCount: Int) -> Int { byteCount / 4 + 4096 }

    /// Runs the pickle to its STOP opcode and returns the value it built.
    mutating func load() throws(EngineError) -> PickleValue {
        let budget = Self.valueBudget(byteCount: bytes.count)
        while true {
            guard heap.objects.count + stack.count + memo.count <= budget else {
                throw invalid("builds more than \(budget) values for its \(bytes.count) bytes (at byte \(position)); "
                              + "a state dict builds far fewer")
            }
            let opcodeAt = position
            let op = try readByte()
            if op == 0x2E { // STOP
                guard stack.count == 1, marks.isEmpty else {
                    throw invalid("STOP at byte \(opcodeAt) with \(stack.count) values on the stack (expected 1)")
                }
                return stack[0]
            }
            try execute(op, at: opcodeAt)
        }
    }

    private mutating func execute(_ op: UInt8, at opcodeAt: Int) throws(EngineError) {
        switch op {
        case 0x80: // PROTO
            let version = try readByte()
            guard (2...5).contains(version) else { throw invalid("pickle protocol \(version) is not supported (2–5 are)") }
        case 0x95: _ = try readInt(8) // FRAME: a length hint only
        case 0x7D: stack.append(heap.add(.dict([])))   // EMPTY_DICT
        case 0x5D: stack.append(heap.add(.list([])))   // EMPTY_LIST
        case 0x29: stack.append(heap.add(.tuple([])))  // EMPTY_TUPLE
        case 0x28: marks.append(stack.count)           // MARK
        case 0x4E: stack.append(.none)                 // NONE
        case 0x88: stack.append(.bool(true))           // NEWTRUE
        case 0x89: stack.append(.bool(false))          // NEWFALSE
        case 0x4B: stack.append(.int(try readInt(1)))  // BININT1
        case 0x4D: stack.append(.int(try readInt(2)))  // BININT2
        case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try readInt(4))))) // BININT
        case 0x8A: stack.append(try readLong(byteCount: try readInt(1)))               // LONG1
        case 0x8B: stack.append(try readLong(byteCount: try readLength(4)))            // LONG4
        case 0x47: // BINFLOAT: big-endian IEEE double
            let raw = try take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            stack.append(.float(Double(bitPattern: raw)))
        case 0x58: stack.append(.string(try readUTF8(try readLength(4))))   // BINUNICODE
        case 0x8C: stack.append(.string(try readUTF8(try readLength(1))))   // SHORT_BINUNICODE
        case 0x8D: stack.append(.string(try readUTF8(try readLength(8))))   // BINUNICODE8
        case 0x54: stack.append(.string(try readLatin1(try readLength(4)))) // BINSTRING
        case 0x55: stack.append(.string(try readLatin1(try readLength(1)))) // SHORT_BINSTRING
        case 0x42: stack.append(.bytes(try take(try readLength(4))))        // BINBYTES
        case 0x43: stack.append(.bytes(try take(try readLength(1))))        // SHORT_BINBYTES
        case 0x71: memo[try readInt(1)] = try top()                         // BINPUT
        case 0x72: memo[try readInt(4)] = try top()                         // LONG_BINPUT
        case 0x94: memo[memo.count] = try top()                             // MEMOIZE
        case 0x68, 0x6A: // BINGET, LONG_BINGET
            let index = try readInt(op == 0x68 ? 1 : 4)
            guard let value = memo[index] else { throw invalid("memo entry \(index) read at byte \(opcodeAt) was never stored") }
            stack.append(value)
        case 0x30: _ = try pop() // POP
        case 0x74: stack.append(heap.add(.tuple(try popToMark()))) // TUPLE
        case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
            let count = Int(op - 0x84)
            guard stack.count - (marks.last ?? 0) >= count else { throw invalid("stack underflow at byte \(opcodeAt)") }
            let items = Array(stack.suffix(count))
            stack.removeLast(count)
            stack.append(heap.add(.tuple(items)))
        case 0x61: // APPEND
            let item = try pop()
            try append([item], at: opcodeAt)
        case 0x65: try append(try popToMark(), at: opcodeAt) // APPENDS
        case 0x73: // SETITEM
            let value = try pop(), key = try pop()
            try setItems([(key, value)], at: opcodeAt)
        case 0x75: // SETITEMS
            let flat = try popToMark()
            guard flat.count % 2 == 0 else { throw invalid("SETITEMS at byte \(opcodeAt) has an odd number of values") }
            try setItems(stride(from: 0, to: flat.count, by: 2).map { (flat[$0], flat[$0 + 1]) }, at: opcodeAt)
        case 0x63: // GLOBAL "module\nname\n"
            let module = try readLine(), name = try readLine()
            stack.append(heap.add(try resolver.global(module + "." + name)))
        case 0x93: // STACK_GLOBAL
            let name = try pop(), module = try pop()
            guard case let .string(n) = name, case let .string(m) = module else {
                throw invalid("STACK_GLOBAL at byte \(opcodeAt) needs two strings")
            }
            stack.append(heap.add(try resolver.global(m + "." + n)))
        case 0x52, 0x81: // REDUCE (callable, args), NEWOBJ (class, args)
            let arguments = try pop(), callable = try pop()
            guard case let .global(name)? = heap[callable], case let .tuple(items)? = heap[arguments] else {
                throw invalid("\(op == 0x52 ? "REDUCE" : "NEWOBJ") at byte \(opcodeAt) applies \(heap.kind(callable)) "
                              + "to \(heap.kind(arguments)); expected an allowed global and an argument tuple")
            }
            stack.append(try resolver.call(name, arguments: items, heap: &heap))
        case 0x62: // BUILD: sets attributes (OrderedDict._metadata, a Namespace's fields), which we do not need
            _ = try pop()
            let target = try top()
            switch heap[target] {
            case .dict?, .record?, .tensor?: break
            default: throw invalid("BUILD at byte \(opcodeAt) targets \(heap.kind(target)), expected a dict, tensor or record")
            }
        case 0x51: // BINPERSID
            let id = try pop()
            stack.append(try resolver.persistentLoad(id, heap: &heap))
        default:
            let printable = (0x21...0x7E).contains(op) ? " ('\(Character(UnicodeScalar(op)))')" : ""
            throw invalid("opcode 0x\(String(op, radix: 16))\(printable) at byte \(opcodeAt) is outside the pickle subset "
                          + "torch.save writes for state dicts")
        }
    }

    // MARK: stack

    private func top() throws(EngineError) -> PickleValue {
        guard let value = stack.last, stack.count > (marks.last ?? 0) else { throw invalid("stack underflow at byte \(position - 1)") }
        return value
    }

    private mutating func pop() throws(EngineError) -> PickleValue {
        let value = try top()
        stack.removeLast()
        return value
    }

    private mutating func popToMark() throws(EngineError) -> [PickleValue] {
        guard let mark = marks.popLast() else { throw invalid("no MARK before byte \(position - 1)") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private mutating func append(_ items: [PickleValue], at opcodeAt: Int) throws(EngineError) {
        let target = try top()
        guard case let .object(index) = target, case var .list(list) = heap[target]! else {
            throw invalid("APPEND at byte \(opcodeAt) targets \(heap.kind(target)), expected a list")
        }
        heap.replace(index, with: .list([]))  // drop the heap's copy so the append does not copy the array
        list += items
        heap.replace(index, with: .list(list))
    }

    private mutating func setItems(_ pairs: [(PickleValue, PickleValue)], at opcodeAt: Int) throws(EngineError) {
        let target = try top()
        guard case let .object(index) = target, case var .dict(entries) = heap[target]! else {
            throw invalid("SETITEM at byte \(opcodeAt) targets \(heap.kind(target)), expected a dict")
        }
        heap.replace(index, with: .dict([]))
        entries += pairs.map { (key: $0.0, value: $0.1) }
        heap.replace(index, with: .dict(entries))
    }

    // MARK: reading

    private mutating func readByte() throws(EngineError) -> UInt8 {
        guard position < bytes.count else { throw invalid("ends at byte \(position) without a STOP opcode (truncated?)") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func take(_ count: Int) throws(EngineError) -> Data {
        guard count >= 0, count <= bytes.count - position else {
            throw invalid("needs \(count) bytes at byte \(position) but only \(bytes.count - position) remain (truncated?)")
        }
        defer { position += count }
        return bytes.subdata(in: position..<(position + count))
    }

    /// A little-endian unsigned integer of `count` bytes (1, 2, 4 or 8).
    private mutating func readInt(_ count: Int) throws(EngineError) -> Int {
        let raw = try take(count).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard raw <= UInt64(Int.max) else { throw invalid("an \(count)-byte field at byte \(position - count) is out of range") }
        return Int(raw)
    }

    /// A length prefix, which must not exceed the bytes that remain.
    private mutating func readLength(_ count: Int) throws(EngineError) -> Int {
        let length = try readInt(count)
        guard length <= bytes.count - position else {
            throw invalid("a length of \(length) at byte \(position - count) exceeds the \(bytes.count - position) bytes that remain")
        }
        return length
    }

    /// LONG1/LONG4: little-endian two's complement of `byteCount` bytes.
    private mutating func readLong(byteCount: Int) throws(EngineError) -> PickleValue {
        let digits = try take(byteCount)
        if byteCount == 0 { return .int(0) }
        guard byteCount <= 8 else { return .largeInt }
        var raw = digits.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        if byteCount < 8, digits.last! & 0x80 != 0 { raw |= ~UInt64(0) << (8 * UInt64(byteCount)) }  // sign-extend
        return .int(Int(Int64(bitPattern: raw)))
    }

    private mutating func readUTF8(_ count: Int) throws(EngineError) -> String {
        let at = position
        guard let text = String(data: try take(count), encoding: .utf8) else { throw invalid("string at byte \(at) is not UTF-8") }
        return text
    }

    private mutating func readLatin1(_ count: Int) throws(EngineError) -> String {
        String(decoding: try take(count).map { UInt16($0) }, as: UTF16.self)
    }

    /// A newline-terminated ASCII line (GLOBAL's module and name), at most 256 bytes.
    private mutating func readLine() throws(EngineError) -> String {
        let start = position
        let limit = min(bytes.count, start + 256)
        guard let end = bytes[start..<limit].firstIndex(of: 0x0A) else {
            throw invalid("GLOBAL operand at byte \(start) is not a newline-terminated name")
        }
        position = end + 1
        guard let text = String(data: bytes[start..<end], encoding: .utf8) else {
            throw invalid("GLOBAL operand at byte \(start) is not UTF-8")
        }
        return text
    }
}
