import Foundation

/// The image files named on a command line: files as given, directories searched recursively.
///
/// Inside directories only files with an image extension are taken (hidden files and folders are
/// skipped), so a folder of photos with a README in it is not an error; the decoder still decides
/// the format from the bytes. A file named explicitly is always tried, whatever its name.
struct ImageInputs {
    /// Extensions of image files looked for in directories. Formats the decoder does not read
    /// (GIF, WebP, …) are included so that they are reported rather than silently passed over.
    static let imageExtensions: Set<String> = ["jpg", "jpeg", "jpe", "jfif", "png", "gif", "bmp", "webp",
                                               "tif", "tiff", "heic", "heif", "avif"]

    /// Files to classify, in command-line order (each directory's files sorted by path).
    var files: [String] = []
    /// Paths that could not be listed (a directory that could not be read), with the reason.
    var listingErrors: [(path: String, reason: String)] = []
    /// Files in directories skipped for not having an image extension.
    var skipped = 0

    init(arguments: [String]) {
        for argument in arguments {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory), isDirectory.boolValue {
                addDirectory(argument)
            } else {
                // Missing and unreadable files are reported by the decoder, for that file.
                files.append(argument)
            }
        }
    }

    private mutating func addDirectory(_ path: String) {
        let root = URL(fileURLWithPath: path)
        var errors: [(String, String)] = []
        let enumerator = FileManager.default.enumerator(
            at: root, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles]
        ) { url, error in
            errors.append((url.path, error.localizedDescription))
            return true
        }
        var found: [String] = []
        while let url = enumerator?.nextObject() as? URL {
            // fileExists follows symbolic links, so linked images count; directories are descended
            // by the enumerator itself. Special files reach the decoder, which refuses them.
            // A link whose target is missing is kept, so the decoder reports it as it reports a
            // missing file named directly, rather than passing over it without a word.
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
            guard exists ? !isDirectory.boolValue : Self.isSymbolicLink(url.path) else { continue }
            guard Self.imageExtensions.contains(url.pathExtension.lowercased()) else {
                skipped += 1
                continue
            }
            // Keep the user's spelling of the directory in the paths we print.
            let relative = String(url.path.dropFirst(root.path.count)).drop { $0 == "/" }
            found.append(path.hasSuffix("/") ? path + relative : path + "/" + relative)
        }
        if enumerator == nil { errors.append((path, "cannot list the directory")) }
        files += found.sorted()
        listingErrors += errors.map { (path: $0.0, reason: $0.1) }
    }

    /// Whether `path` itself (not what it points to) is a symbolic link.
    private static func isSymbolicLink(_ path: String) -> Bool {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil
    }
}
