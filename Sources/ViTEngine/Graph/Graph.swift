import CKernels

/// The model graph: a straight-line list of fused layers over activation values.
///
/// A graph is built for one concrete input shape (batch, height, width) by an architecture file
/// in `Models/`; the planner then gives every value a slot in one arena and the executor runs the
/// nodes in order. Parameters (BatchNorm already folded in) live in a ``ParameterStore`` shared by
/// every graph of the same model, so planning a new input size never copies weights.

/// Identifies an activation value (an intermediate tensor) of a graph.
struct ValueID: Hashable, Sendable {
    let index: Int
}

/// Identifies a parameter tensor in the model's ``ParameterStore``.
struct ParamID: Hashable, Sendable {
    let index: Int
}

/// The shape of an activation value. Spatial values are channels-last `[N, H, W, C]` (the
/// caller's input alone is `[N, C, H, W]`, as PyTorch's), token sequences `[N, T, C]`, pooled
/// ones `[N, C]`.
struct ValueInfo: Sendable {
    var shape: [Int]
    var count: Int { shape.reduce(1, *) }
    /// Rows of `C` floats per image: pixels of a spatial value, tokens of a sequence, 1 when pooled.
    var rowsPerImage: Int { shape.dropFirst().dropLast().reduce(1, *) }
    var channels: Int { shape.last! }
}

/// `x · scale + shift` per channel: an inference-mode BatchNorm kept as such.
struct ChannelAffine: Sendable {
    var scale: ParamID
    var shift: ParamID
}

/// Elementwise function applied in a kernel's epilogue.
enum Activation: Sendable {
    case identity
    case relu
    /// The exact (erf) GELU of PyTorch's `nn.GELU()`.
    case gelu

    /// The `VIT_ACT_*` code the C kernels take.
    var code: Int32 {
        switch self {
        case .identity: Int32(VIT_ACT_IDENTITY)
        case .relu: Int32(VIT_ACT_RELU)
        case .gelu: Int32(VIT_ACT_GELU)
        }
    }
}

/// The two packed 1×1 layers of a ``Operation/feedForward(_:)`` node.
struct FeedForwardLayer: Sendable {
    var expandWeight: ParamID
    var expandBias: ParamID
    /// Width of the hidden map (the expand layer's outputs).
    var hidden: Int
    /// Applied to the hidden map (ReLU in EfficientViT, GELU in ViT).
    var activation: Activation
    var reduceWeight: ParamID
    var reduceBias: ParamID
}

/// Hyper-parameters of a cascaded group attention layer (EfficientViT's token mixer).
struct CascadedAttentionLayer: Sendable {
    /// Attention heads; each sees `channelsPerHead` input channels plus the previous head's output.
    var heads: Int
    var channelsPerHead: Int
    var keyDim: Int
    var valueDim: Int
    /// Side of the square attention window (the trained window, `min(7, resolution)`).
    var window: Int
    /// Depthwise kernel size of the query convolution, per head.
    var queryKernels: [Int]
    /// `[2·keyDim + valueDim, channelsPerHead]` folded 1×1 conv weights and biases, per head.
    var qkvWeights: [ParamID]
    var qkvBiases: [ParamID]
    /// `[keyDim, 1, k, k]` folded depthwise query conv weights and biases, per head.
    var queryWeights: [ParamID]
    var queryBiases: [ParamID]
    /// `[T, T]` relative-position bias per head (T = window²), expanded from the learned table.
    var positionBias: [ParamID]
    var scale: Float
}

/// Hyper-parameters of a (shifted) window attention layer (Swin's W-MSA / SW-MSA), on a
/// `[N, H, W, 3·heads·headDim]` qkv projection; see ``WindowAttentionKernel``.
struct WindowAttentionLayer: Sendable {
    var heads: Int
    var headDim: Int
    /// Side of the square window.
    var window: Int
    /// Cyclic shift along each axis (0 when that axis is not shifted).
    var shiftY: Int
    var shiftX: Int
    /// `[heads, T, T]` relative-position bias (T = window²), expanded from the learned table.
    var positionBias: ParamID
    /// `[3·heads·headDim]` bias of the qkv projection: the q, k, v of zero-padded tokens.
    var qkvBias: ParamID
    var scale: Float
}

/// How patch tokens become the transformer's input sequence (timm's `_pos_embed`).
struct TokenEmbedding: Sendable {
    /// Tokens placed before the patches (class, distillation): `prefixCount` rows.
    var prefixCount: Int
    /// `[prefixCount + patches, C]`: the prefix rows are the prefix tokens themselves (plus their
    /// position embedding when the model has one for them); the patch rows are the position
    /// embedding, resampled to this graph's patch grid, added to the patch tokens.
    var addend: [Float]
}

/// How a token sequence is reduced to one vector per image (timm's `global_pool`).
enum TokenPool: Sendable {
    /// The token at this index (`'token'`: the class token).
    case token(Int)
    /// The mean of all tokens after the first `skipping` (`'avg'`: patch tokens only).
    case mean(skipping: Int)
}

/// What a node computes. Every operation writes one output value.
enum Operation: Sendable {
    /// Dense convolution (groups = 1), bias and activation fused; weight `[cout, k, k, cin]`
    /// (and, for 3×3 stride-2 layers computed in row pairs, its outer-rows sum).
    /// `channelsLast` is false for the stem, which reads the caller's NCHW input.
    case convolution(weight: ParamID, outerRowsSum: ParamID?, bias: ParamID, kernel: Int, stride: Int, padding: Int,
                     activation: Activation, channelsLast: Bool)
    /// 1×1 convolution, or a linear layer on every token: a GEMM per image over its rows (pixels or
    /// tokens) with the epilogue `activation(· + bias + residual)` fused.
    case pointwise(weight: ParamID, bias: ParamID, activation: Activation)
    /// Depthwise convolution with zero padding `kernel / 2`, `activation(· + bias + residual)` fused,
    /// then `then`'s per-channel affine if any (a BatchNorm after the activation, which cannot be
    /// folded into the next convolution because of its zero padding); weight tap-major `[k·k, channels]`.
    case depthwise(weight: ParamID, bias: ParamID, kernel: Int, stride: Int, activation: Activation,
                   then: ChannelAffine? = nil)
    /// Two 1×1 layers with the hidden map between them kept out of the arena:
    /// `reduce(activation(expand(x))) + residual`, computed block of rows by block of rows so that
    /// each block's hidden rows stay in cache between the two GEMMs (EfficientViT's FFN, a
    /// transformer's MLP).
    case feedForward(FeedForwardLayer)
    /// Squeeze-and-excitation: mean over space, 1×1 reduce + ReLU, 1×1 expand + sigmoid, scale;
    /// both 1×1 weights packed for the GEMM, which runs over the batch.
    case squeezeExcite(reduceWeight: ParamID, reduceBias: ParamID, expandWeight: ParamID, expandBias: ParamID,
                       reduced: Int)
    /// Window partition (zero padded), cascaded group attention, window merge (cropped), ReLU.
    /// The output is the concatenation of the heads' outputs; the projection follows as a node.
    case cascadedAttention(CascadedAttentionLayer)
    /// Max pooling with implicit −∞ padding (PyTorch's `MaxPool2d`).
    case maxPool(kernel: Int, stride: Int, padding: Int)
    /// Mean over the spatial dimensions: `[N, H, W, C] → [N, C]`.
    case globalAveragePool
    /// Patch tokens `[N, h, w, C]` → sequence `[N, prefix + h·w, C]` with prefix tokens and
    /// position embedding.
    case embedTokens(TokenEmbedding)
    /// LayerNorm over the last dimension (biased variance, as `nn.LayerNorm`).
    case layerNorm(weight: ParamID, bias: ParamID, epsilon: Float)
    /// Multi-head self-attention on a `[N, T, 3·heads·headDim]` qkv projection (q, k, v blocks,
    /// heads inside each): `softmax(q·kᵀ·scale)·v` per head → `[N, T, heads·headDim]`.
    case selfAttention(heads: Int, headDim: Int, scale: Float)
    /// CaiT's talking-heads self-attention on a `[N, T, 3·C]` qkv projection → `[N, T, C]`.
    case talkingHeadsAttention(TalkingHeadsAttentionLayer)
    /// CaiT's class attention: patch tokens `[N, T, C]` (input) and class token `[N, C]`
    /// (residual, or the layer's learned token) → the updated class token `[N, C]`.
    case classAttention(ClassAttentionLayer)
    /// XCiT's cross-covariance attention on a `[N, …, 3·C]` qkv projection → `[N, …, C]`.
    case crossCovarianceAttention(CrossCovarianceAttentionLayer)
    /// XCiT's class-attention block on `[N, 1 + T, C]` (class token first) → the same shape.
    case xcitClassBlock(XCiTClassBlockLayer)
    /// `[N, T, C] → [N, C]` (or `[N, h, w, C]`, its tokens in row-major order).
    case tokenPool(TokenPool)
    /// Swaps the two axes of each image seen as a `[A, B]` matrix (`A` the product of the middle
    /// dimensions, `B` the last): tokens × channels ↔ channels × tokens around MLP-Mixer's
    /// token-mixing MLP, so that it is an ordinary linear layer. The residual is added in the
    /// output's layout.
    case transpose
    /// Fully connected layer on `[N, K] → [N, M]` (a classifier head), its weight packed like a
    /// pointwise layer's: one GEMM over the batch.
    case linear(weight: ParamID, bias: ParamID)
    /// A token mixer other than softmax attention over all tokens (see ``SequenceMixer``).
    case sequenceMixer(SequenceMixer)
    /// The Switch Transformer's MLP on `[N, T, C]`: every token through the one expert its router
    /// picks (+ residual).
    case switchExperts(SwitchExperts)
    /// Shifted window attention on a qkv projection `[N, H, W, 3·C]` → `[N, H, W, C]`, the shift,
    /// window partition and merge folded into its reads and writes.
    case windowAttention(WindowAttentionLayer)
    /// Multi-head attention of a map's queries `[N, hq, wq, heads·keyDim]` (the input) over the keys
    /// `[N, hk, wk, heads·keyDim]` and values `[N, hk, wk, heads·valueDim]` of a map (auxiliary
    /// 0 and 1), with a learned bias per query and key position and optional talking heads →
    /// `[N, hq, wq, heads·valueDim]` (EfficientFormerV2's attention).
    case featureMapAttention(FeatureMapAttentionLayer)
    /// Bilinear 2× upsampling (PyTorch's, `align_corners=False`), then the activation:
    /// `[N, H, W, C] → [N, 2H, 2W, C]`.
    case upsample2x(activation: Activation)
    /// Swin's patch merging up to its reduction: each 2×2 block of `[N, H, W, C]` (zero padded to
    /// even sides) → one `4·C` vector, LayerNorm applied: `[N, ⌈H/2⌉, ⌈W/2⌉, 4·C]`.
    case patchMerging(weight: ParamID, bias: ParamID, epsilon: Float)
    /// A family's own fused operation, with its kernel (see ``FamilyOperation``).
    case family(any FamilyOperation)
}

extension Operation {
    /// Whether every output row depends only on the same row of the input, read in full before
    /// that row is written, so that `x + f(x)` may be accumulated over `x` itself (the planner's
    /// in-place rule otherwise needs the residual to be a value other than the input).
    var readsInputRowsBeforeWritingThem: Bool {
        if case .feedForward = self { return true }
        return false
    }

    /// A short name of the kind of layer, for profiles.
    var kind: String {
        switch self {
        case .convolution: "convolution"
        case .pointwise: "pointwise"
        case .feedForward: "feed-forward"
        case .depthwise(_, _, _, let stride, _, _): stride == 1 ? "depthwise" : "depthwise/2"
        case .squeezeExcite: "squeeze-excite"
        case .cascadedAttention: "cascaded attention"
        case .globalAveragePool, .tokenPool, .maxPool: "pool"
        case .linear: "linear"
        case .transpose: "transpose"
        case .talkingHeadsAttention: "talking-heads attention"
        case .classAttention, .xcitClassBlock: "class attention"
        case .crossCovarianceAttention: "cross-covariance attention"
        case .embedTokens: "token embedding"
        case .layerNorm: "layer norm"
        case .selfAttention: "self-attention"
        case .sequenceMixer(let mixer): mixer.kind
        case .switchExperts: "switch experts"
        case .windowAttention: "window attention"
        case .patchMerging: "patch merging"
        case .featureMapAttention: "feature-map attention"
        case .upsample2x: "upsample"
        case .family(let operation): operation.kind
        }
    }
}

/// One fused layer of the graph.
struct Node: Sendable {
    var operation: Operation
    var input: ValueID
    /// A value added to the result (a residual connection), or nil.
    var residual: ValueID?
    var output: ValueID
    /// Floats of temporary memory the kernel needs while it runs; the planner gives it a slot that
    /// lives only for this node.
    var scratchCount: Int
    /// Dotted name of the layer in the reference model, for errors and profiles.
    var label: String
    /// Further values the operation reads besides `input` and `residual` (e.g. the token sizes
    /// of ToMe's proportional attention).
    var auxiliary: [ValueID] = []
}

/// A graph for one input shape, ready for the planner.
struct Graph: Sendable {
    var values: [ValueInfo] = []
    var nodes: [Node] = []
    /// The value the caller's input is copied into.
    var input: ValueID
    /// Values the caller reads after the run (they stay live to the end).
    var outputs: [ValueID]
}

extension Graph {
    /// The nodes that read `v` (as input, residual or auxiliary value), in order.
    func readers(of v: ValueID) -> [Int] {
        nodes.indices.filter { j in
            let n = nodes[j]
            return n.input == v || n.residual == v || n.auxiliary.contains(v)
        }
    }
}

/// Appends nodes to a graph while tracking value shapes.
struct GraphBuilder {
    private(set) var graph: Graph

    init(inputShape: [Int]) {
        graph = Graph(values: [ValueInfo(shape: inputShape)], nodes: [], input: ValueID(index: 0), outputs: [])
    }

    func shape(_ v: ValueID) -> [Int] { graph.values[v.index].shape }

    mutating func add(_ operation: Operation, input: ValueID, residual: ValueID? = nil, auxiliary: [ValueID] = [],
                      outputShape: [Int], scratch: Int = 0, label: String) -> ValueID {
        let out = ValueID(index: graph.values.count)
        graph.values.append(ValueInfo(shape: outputShape))
        graph.nodes.append(Node(operation: operation, input: input, residual: residual, output: out,
                                scratchCount: scratch, label: label, auxiliary: auxiliary))
        return out
    }

    /// `reduce(activation(expand(x))) + residual` as one ``Operation/feedForward(_:)`` node
    /// (`residual` nil: none); the weights are `[in, hidden]` and `[hidden, out]` packed.
    mutating func feedForward(_ layer: FeedForwardLayer, _ x: ValueID, outChannels: Int, residual: ValueID?,
                              label: String) -> ValueID {
        let rows = graph.values[x.index].shape.dropLast().reduce(1, *)
        return add(.feedForward(layer), input: x, residual: residual, outputShape: shape(x).dropLast() + [outChannels],
                   scratch: Partition.gemmScratchRows(rows: rows) * layer.hidden, label: label)
    }

    mutating func finish(outputs: [ValueID]) -> Graph {
        graph.outputs = outputs
        return graph
    }
}
