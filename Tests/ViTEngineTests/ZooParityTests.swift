import XCTest
@testable import ViTEngine

/// Logits of the model zoo against the PyTorch reference (timm), on weights whose LayerNorm
/// scales and biases, LayerScale factors, class tokens and position embeddings are all random.
/// Fixtures come from scripts/make_zoo_fixtures.py; the table of results is in Models/ZOO.md.
final class ZooParityTests: XCTestCase {
    static let cases: Set = [
        "vit_tiny_224_b2", "vit_tiny_160x256_b2", "vit_small_224_b2", "vit_base_224_b1",
        "deit_tiny_224_b2", "deit_small_224_b2", "deit_base_224_b1",
        "deit3_small_224_b2", "deit3_small_288_b1", "deit3_base_224_b1",
        "resnet50_224_b2", "resnet50_160x192_b1", "mixer_b16_224_b2",
        "cait_xxs24_224_b2", "xcit_tiny_224_b2", "xcit_tiny_160x192_b1", "xcit_nano_224_b1",
        "linformer_tiny_224_b2", "linformer_tiny_160_b1", "linformer_small_224_b1",
        "linformer_base_224_b1", "fnet_tiny_224_b2", "fnet_tiny_288_b1", "fnet_small_224_b1", "fnet_base_224_b1",
        "tome_tiny_r8_224_b2", "tome_tiny_r8_160_b1", "tome_tiny_r13_224_b1", "tome_small_r8_224_b1",
        "tome_small_r13_224_b1", "evit_small_224_b2", "evit_small_160_b1", "evit_small_nofuse_224_b2",
        "swin_tiny_224_b2", "swin_tiny_256x224_b1", "swin_small_224_b1", "swin_base_224_b1",
        "swin_tiny_official_224_b1",
        "linear_tiny_224_b2", "linear_tiny_160_b1", "linear_small_224_b1",
        "synthesizer_fd_tiny_224_b2", "synthesizer_fd_tiny_160_b1", "synthesizer_fr_tiny_224_b2",
        "synthesizer_fr_tiny_160_b1", "switch_tiny_224_b2", "switch_tiny_160_b1",
        "efficientformerv2_s0_224_b2", "efficientformerv2_s0_192x160_b1", "efficientformerv2_s1_224_b1",
        "efficientformerv2_s2_224_b1", "efficientformerv2_l_224_b1",
        "gfnet_tiny_224_b2", "gfnet_tiny_160_b1", "gfnet_tiny_272_b1", "gfnet_extra_small_224_b1",
        "gfnet_small_224_b1", "gfnet_base_224_b1",
        "nystrom64_tiny_224_b2", "nystrom64_tiny_160_b1", "nystrom32_tiny_224_b1", "nystrom64_small_224_b1",
        "nystrom32_small_224_b1", "nystrom64_base_224_b1", "nystrom32_base_224_b1",
        "performer_tiny_224_b2", "performer_tiny_160_b1", "performer_small_224_b1", "performer_base_224_b1",
        "polysa_tiny_224_b2", "polysa_tiny_160_b1", "polysa_small_224_b1", "polysa_base_224_b1",
        "token_learner_8_50_tiny_224_b2", "token_learner_8_50_tiny_160_b1", "token_learner_8_75_tiny_224_b1",
        "token_learner_8_50_small_224_b1", "token_learner_8_75_small_224_b1", "token_learner_8_50_base_224_b1",
        "token_learner_8_75_base_224_b1",
        "dynamic_vit_90_tiny_224_b2", "dynamic_vit_90_tiny_160_b1", "dynamic_vit_70_tiny_224_b1",
        "dynamic_vit_90_small_224_b1", "dynamic_vit_70_small_224_b1", "dynamic_vit_90_base_224_b1",
        "dynamic_vit_70_base_224_b1",
    ]

    /// One case per family (the smallest) on each lower kernel tier this CPU runs, forced.
    func testOneCasePerFamilyOnEveryLowerTier() throws {
        let perFamily = ["vit_tiny_160x256_b2", "deit3_small_288_b1", "resnet50_160x192_b1", "mixer_b16_224_b2",
                         "cait_xxs24_224_b2", "xcit_nano_224_b1", "linformer_tiny_160_b1", "fnet_tiny_288_b1",
                         "tome_tiny_r8_160_b1", "evit_small_160_b1", "swin_tiny_256x224_b1", "linear_tiny_160_b1",
                         "synthesizer_fd_tiny_160_b1", "synthesizer_fr_tiny_160_b1", "switch_tiny_160_b1",
                         "efficientformerv2_s0_192x160_b1", "gfnet_tiny_160_b1",
                         "nystrom64_tiny_160_b1", "performer_tiny_160_b1", "polysa_tiny_160_b1",
                         "token_learner_8_50_tiny_160_b1", "dynamic_vit_90_tiny_160_b1"]
        XCTAssert(Set(perFamily).isSubset(of: Self.cases))
        for isa in KernelTiers.supported where isa != KernelISA.best {
            try KernelTiers.with(isa) {
                for name in perFamily { try checkParity(name) }
            }
        }
    }

    func testViTTiny() throws { try checkParity("vit_tiny_224_b2") }
    /// Another, non-square size: the position embedding is resampled as timm does.
    func testViTTinyAt160x256() throws { try checkParity("vit_tiny_160x256_b2") }
    func testViTSmall() throws { try checkParity("vit_small_224_b2") }
    func testViTBase() throws { try checkParity("vit_base_224_b1") }
    func testDeiTTiny() throws { try checkParity("deit_tiny_224_b2") }
    func testDeiTSmall() throws { try checkParity("deit_small_224_b2") }
    func testDeiTBase() throws { try checkParity("deit_base_224_b1") }
    /// LayerScale and a position embedding without the class token.
    func testDeiT3Small() throws { try checkParity("deit3_small_224_b2") }
    func testDeiT3SmallAt288() throws { try checkParity("deit3_small_288_b1") }
    func testDeiT3Base() throws { try checkParity("deit3_base_224_b1") }
    /// The CNN baseline: BatchNorm folded, ReLU after the residual add, max pooling.
    func testResNet50() throws { try checkParity("resnet50_224_b2") }
    func testResNet50At160x192() throws { try checkParity("resnet50_160x192_b1") }
    func testMLPMixerB16() throws { try checkParity("mixer_b16_224_b2") }
    /// Talking-heads attention, LayerScale and the class-attention blocks.
    func testCaiTXXS24() throws { try checkParity("cait_xxs24_224_b2") }
    /// Cross-covariance attention, local patch interaction and XCiT's class attention (all
    /// tokens normalized after it).
    func testXCiTTiny() throws { try checkParity("xcit_tiny_224_b2") }
    /// Another size: the Fourier position encoding is computed for the 10×12 grid.
    func testXCiTTinyAt160x192() throws { try checkParity("xcit_tiny_160x192_b1") }
    /// `tokens_norm=False`: only the class token is normalized in the class-attention blocks.
    func testXCiTNano() throws { try checkParity("xcit_nano_224_b1") }
    /// The benchmark's Linformer (k = 256 > T = 197: the projection widens the sequence).
    func testLinformerTiny() throws { try checkParity("linformer_tiny_224_b2") }
    /// The benchmark's set_image_res: projections resized bilinearly, position embedding bicubically.
    func testLinformerTinyAt160() throws { try checkParity("linformer_tiny_160_b1") }
    func testLinformerSmall() throws { try checkParity("linformer_small_224_b1") }
    func testLinformerBase() throws { try checkParity("linformer_base_224_b1") }
    /// The benchmark's FNet against torch.fft.fft2 (class token mixed with the patches, average pool).
    func testFNetTiny() throws { try checkParity("fnet_tiny_224_b2") }
    func testFNetTinyAt288() throws { try checkParity("fnet_tiny_288_b1") }
    func testFNetSmall() throws { try checkParity("fnet_small_224_b1") }
    func testFNetBase() throws { try checkParity("fnet_base_224_b1") }
    /// The benchmark's ToMe: merges chosen as torch chooses them (inputs whose every choice is
    /// at least 1e-4 from a tie, see make_zoo_fixtures.py), proportional attention.
    func testToMeTinyR8() throws { try checkParity("tome_tiny_r8_224_b2") }
    func testToMeTinyR8At160() throws { try checkParity("tome_tiny_r8_160_b1") }
    func testToMeTinyR13() throws { try checkParity("tome_tiny_r13_224_b1") }
    func testToMeSmallR8() throws { try checkParity("tome_small_r8_224_b1") }
    func testToMeSmallR13() throws { try checkParity("tome_small_r13_224_b1") }
    /// EViT (the official release's keep rate 0.7 in blocks 3, 6, 9, inattentive tokens fused):
    /// tokens kept as torch keeps them (inputs whose every choice is at least 1e-3, relative,
    /// from a tie, see make_zoo_fixtures.py).
    func testEViTSmall() throws { try checkParity("evit_small_224_b2") }
    /// The benchmark's set_image_res: 101 tokens, then 72, 52 and 38 (the fused token included).
    func testEViTSmallAt160() throws { try checkParity("evit_small_160_b1") }
    /// Without fusion: the inattentive tokens are dropped.
    func testEViTSmallWithoutFusion() throws { try checkParity("evit_small_nofuse_224_b2") }
    /// Shifted windows with the attention mask, patch merging, relative-position bias.
    func testSwinTiny() throws { try checkParity("swin_tiny_224_b2") }
    /// A checkpoint in the official microsoft/Swin-Transformer layout (patch merging at the end of
    /// each stage, `head` for `head.fc`) loads as timm's does.
    func testSwinTinyOfficialLayout() throws { try checkParity("swin_tiny_official_224_b1") }
    /// timm's `img_size=(256, 224)`: maps padded to whole windows, the last stage shifted along
    /// one axis only.
    func testSwinTinyAt256x224() throws { try checkParity("swin_tiny_256x224_b1") }
    func testSwinSmall() throws { try checkParity("swin_small_224_b1") }
    func testSwinBase() throws { try checkParity("swin_base_224_b1") }
    /// The benchmark's Linear Transformer: elu + 1 feature map, no [T, T] scores.
    func testLinearTransformerTiny() throws { try checkParity("linear_tiny_224_b2") }
    func testLinearTransformerTinyAt160() throws { try checkParity("linear_tiny_160_b1") }
    func testLinearTransformerSmall() throws { try checkParity("linear_small_224_b1") }
    /// The benchmark's factorized dense Synthesizer: scores synthesized from each token alone.
    func testSynthesizerTiny() throws { try checkParity("synthesizer_fd_tiny_224_b2") }
    /// set_image_res: f = round(√101) = 10 and the factor maps resized linearly.
    func testSynthesizerTinyAt160() throws { try checkParity("synthesizer_fd_tiny_160_b1") }
    /// The benchmark's random Synthesizer: one constant attention per head, softmax((R₁·R₂)[:T, :T]).
    func testRandomSynthesizerTiny() throws { try checkParity("synthesizer_fr_tiny_224_b2") }
    /// set_image_res: both factors resized along L (200 → 104).
    func testRandomSynthesizerTinyAt160() throws { try checkParity("synthesizer_fr_tiny_160_b1") }
    /// The benchmark's Switch ViT: every token routed to one of 8 expert MLPs as torch routes it
    /// (inputs whose every router choice is at least 1e-4 from a tie, see make_zoo_fixtures.py).
    func testSwitchTiny() throws { try checkParity("switch_tiny_224_b2") }
    func testSwitchTinyAt160() throws { try checkParity("switch_tiny_160_b1") }
    /// Talking-heads attention with relative-offset biases (stage 2 at half resolution, upsampled
    /// bilinearly), the downsampling attention with strided queries, the FFN's depthwise conv,
    /// LayerScale, and the two heads averaged.
    func testEfficientFormerV2S0() throws { try checkParity("efficientformerv2_s0_224_b2") }
    /// timm's `img_size=(192, 160)`: bias tables over 6×5 (stage 2, strided), 12×10 → 6×5 and
    /// 6×5 maps — another model, as in timm, which runs no other size with the same tensors.
    func testEfficientFormerV2S0At192x160() throws { try checkParity("efficientformerv2_s0_192x160_b1") }
    func testEfficientFormerV2S1() throws { try checkParity("efficientformerv2_s1_224_b1") }
    func testEfficientFormerV2S2() throws { try checkParity("efficientformerv2_s2_224_b1") }
    func testEfficientFormerV2L() throws { try checkParity("efficientformerv2_l_224_b1") }
    /// The benchmark's GFNet against torch.fft.rfft2/irfft2: every block's global filter (one
    /// residual around filter and MLP together), the mean of the normalized tokens.
    func testGFNetTiny() throws { try checkParity("gfnet_tiny_224_b2") }
    /// set_image_res(160): the position embedding and the filters resized bilinearly (14 → 10 rows,
    /// 8 → 6 frequencies).
    func testGFNetTinyAt160() throws { try checkParity("gfnet_tiny_160_b1") }
    /// set_image_res(272): an odd 17 × 17 grid (no Nyquist frequency), filters resized up (8 → 9 frequencies).
    func testGFNetTinyAt272() throws { try checkParity("gfnet_tiny_272_b1") }
    /// 386 channels (the benchmark's builder): a last block of 2 channels in the filter's split.
    func testGFNetExtraSmall() throws { try checkParity("gfnet_extra_small_224_b1") }
    func testGFNetSmall() throws { try checkParity("gfnet_small_224_b1") }
    func testGFNetBase() throws { try checkParity("gfnet_base_224_b1") }
    /// The benchmark's Nyströmformer: 64 landmarks over 197 tokens (59 segments of 3, 5 of 4),
    /// the pseudo-inverse by six iterations, the values added to the projection.
    func testNystromformer64Tiny() throws { try checkParity("nystrom64_tiny_224_b2") }
    /// set_image_res(160): 101 tokens (27 segments of 1, 37 of 2).
    func testNystromformer64TinyAt160() throws { try checkParity("nystrom64_tiny_160_b1") }
    func testNystromformer32Tiny() throws { try checkParity("nystrom32_tiny_224_b1") }
    func testNystromformer64Small() throws { try checkParity("nystrom64_small_224_b1") }
    func testNystromformer32Small() throws { try checkParity("nystrom32_small_224_b1") }
    func testNystromformer64Base() throws { try checkParity("nystrom64_base_224_b1") }
    func testNystromformer32Base() throws { try checkParity("nystrom32_base_224_b1") }
    /// The benchmark's Performer: FAVOR+ features through the checkpoint's projection buffer,
    /// queries shifted by their row maximum, keys by the head's.
    func testPerformerTiny() throws { try checkParity("performer_tiny_224_b2") }
    func testPerformerTinyAt160() throws { try checkParity("performer_tiny_160_b1") }
    func testPerformerSmall() throws { try checkParity("performer_small_224_b1") }
    func testPerformerBase() throws { try checkParity("performer_base_224_b1") }
    /// The benchmark's Poly-SA: one LayerNorm'd modulator per head from the whole sequence,
    /// scaled per token.
    func testPolySATiny() throws { try checkParity("polysa_tiny_224_b2") }
    /// set_image_res(160): p₁ and p₂ resized bicubically over the patch grid, class column kept.
    func testPolySATinyAt160() throws { try checkParity("polysa_tiny_160_b1") }
    func testPolySASmall() throws { try checkParity("polysa_small_224_b1") }
    func testPolySABase() throws { try checkParity("polysa_base_224_b1") }
    /// The benchmark's TokenLearner ViT: blocks 0–5, 8 learned tokens, blocks 0–5 again.
    func testTokenLearnerTiny() throws { try checkParity("token_learner_8_50_tiny_224_b2") }
    func testTokenLearnerTinyAt160() throws { try checkParity("token_learner_8_50_tiny_160_b1") }
    /// Blocks 0–8, the TokenLearner, blocks 0–8 again.
    func testTokenLearner75Tiny() throws { try checkParity("token_learner_8_75_tiny_224_b1") }
    func testTokenLearnerSmall() throws { try checkParity("token_learner_8_50_small_224_b1") }
    func testTokenLearner75Small() throws { try checkParity("token_learner_8_75_small_224_b1") }
    func testTokenLearnerBase() throws { try checkParity("token_learner_8_50_base_224_b1") }
    func testTokenLearner75Base() throws { try checkParity("token_learner_8_75_base_224_b1") }
    /// The benchmark's DynamicViT in eval mode: before blocks 3, 6, 9 the ⌊196·0.9ⁱ⌋ best-scored
    /// tokens stay (inputs whose every choice is at least 1e-4 from a tie, see make_zoo_fixtures.py).
    func testDynamicViT90Tiny() throws { try checkParity("dynamic_vit_90_tiny_224_b2") }
    /// set_image_res(160): ⌊100·0.9ⁱ⌋ of the 100 patches.
    func testDynamicViT90TinyAt160() throws { try checkParity("dynamic_vit_90_tiny_160_b1") }
    func testDynamicViT70Tiny() throws { try checkParity("dynamic_vit_70_tiny_224_b1") }
    func testDynamicViT90Small() throws { try checkParity("dynamic_vit_90_small_224_b1") }
    func testDynamicViT70Small() throws { try checkParity("dynamic_vit_70_small_224_b1") }
    func testDynamicViT90Base() throws { try checkParity("dynamic_vit_90_base_224_b1") }
    func testDynamicViT70Base() throws { try checkParity("dynamic_vit_70_base_224_b1") }
}
