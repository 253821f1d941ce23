import Foundation

/// A node of an SVG (or any XML) document: a name, attributes in order, children or text.
/// Rendering escapes every attribute value and text, so model names and paths cannot break the
/// document.
public struct SVGElement: Sendable {
    public var name: String
    public var attributes: [(String, String)]
    public var children: [SVGElement]
    public var text: String?

    public init(_ name: String, _ attributes: [(String, String)] = [], text: String? = nil,
                children: [SVGElement] = []) {
        self.name = name
        self.attributes = attributes
        self.text = text
        self.children = children
    }

    /// A root `<svg>` element of the given pixel size, with the SVG namespace.
    public static func document(width: Double, height: Double, children: [SVGElement]) -> SVGElement {
        SVGElement("svg", [("xmlns", "http://www.w3.org/2000/svg"), ("width", number(width)),
                           ("height", number(height)), ("viewBox", "0 0 \(number(width)) \(number(height))"),
                           ("font-family", "Helvetica, Arial, sans-serif")], children: children)
    }

    /// The element as XML text, children indented by two spaces a level.
    public func xml(indent: Int = 0) -> String {
        var out = ""
        render(into: &out, indent: indent)
        return out
    }

    private func render(into out: inout String, indent: Int) {
        let pad = String(repeating: " ", count: indent)
        out += pad + "<" + name
        for (key, value) in attributes { out += " \(key)=\"\(Self.escape(value))\"" }
        if children.isEmpty, text == nil {
            out += "/>\n"
            return
        }
        out += ">"
        if let text { out += Self.escape(text) }
        if !children.isEmpty {
            out += "\n"
            for child in children { child.render(into: &out, indent: indent + 2) }
            out += pad
        }
        out += "</\(name)>\n"
    }

    /// XML escaping for text and attribute values (also drops control characters XML forbids).
    public static func escape(_ string: String) -> String {
        var out = ""
        out.reserveCapacity(string.count)
        for scalar in string.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default: if scalar.value >= 0x20 { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    /// A coordinate with one decimal at most, as SVG attributes want it.
    public static func number(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.1f", rounded)
    }
}
