/// The ImageNet-1k class names, in the order of the logits of every ImageNet-1k classifier
/// (class `i` is `names[i]`; sorted WordNet synset ids, as timm and torchvision order them).
///
/// Compiled in from `Models/imagenet_labels.txt` (made from timm's ImageNet data by
/// `scripts/make_imagenet_labels.py`). Each name is the synset's description, synonyms separated
/// by commas, e.g. `"tabby, tabby cat"` for class 281.
public enum ImageNetLabels {
    /// All 1000 names; `names[i]` labels logit `i`.
    public static let names: [String] = ModelData.imagenetLabels
        .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)

    /// The name of class `index`, or nil outside `0..<1000`.
    public static func name(of index: Int) -> String? {
        names.indices.contains(index) ? names[index] : nil
    }
}
