/// Reads EfficientViT checkpoints in either published key layout.
///
/// timm's layout (`patch_embed.conv1.conv.weight`, `stages.1.downsample.patchmerge.conv1.bn.bias`,
/// `head.linear.weight`) is the engine's canonical one. The official microsoft/Cream layout
/// (`patch_embed.0.c.weight`, `blocks2.1.conv1.bn.bias`, `head.l.weight`) is mapped onto it by
/// structure: Cream's `patch_embed` Sequential interleaves ReLUs (children 0, 2, 4, 6), and
/// `blocks2`/`blocks3` begin with the three downsample modules (res1, patchmerge, res2) before the
/// stage's blocks.
extension EfficientViT {
    static func checkpointKey(_ key: String) -> CheckpointKey? {
        if key.hasSuffix(".attention_bias_idxs") || key.hasSuffix(".num_batches_tracked") { return .ignored }
        var parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3 else { return nil }

        if parts[0] == "patch_embed", let i = Int(parts[1]) {
            guard i % 2 == 0, (0...6).contains(i) else { return nil }
            parts[1] = "conv\(i / 2 + 1)"
        } else if parts[0].hasPrefix("blocks"), let n = Int(parts[0].dropFirst("blocks".count)), n >= 1,
                  let j = Int(parts[1]) {
            let stage = "stages.\(n - 1)"
            let rest = Array(parts[2...])
            if n == 1 {
                parts = ["\(stage).blocks.\(j)"] + rest
            } else {
                switch j {
                case 0: parts = ["\(stage).downsample.res1"] + rest
                case 1: parts = ["\(stage).downsample.patchmerge"] + rest
                case 2: parts = ["\(stage).downsample.res2"] + rest
                default: parts = ["\(stage).blocks.\(j - 3)"] + rest
                }
            }
        } else if parts[0] == "head", parts[1] == "l" {
            parts[1] = "linear"
        }
        // Cream names a ConvNorm's convolution `c`; older timm squeeze-excite used conv_reduce/expand.
        let last = parts.count - 1
        if parts[last - 1] == "c" { parts[last - 1] = "conv" }
        if parts[last - 1] == "conv_reduce" { parts[last - 1] = "fc1" }
        if parts[last - 1] == "conv_expand" { parts[last - 1] = "fc2" }
        return .tensor(parts.joined(separator: "."))
    }
}
