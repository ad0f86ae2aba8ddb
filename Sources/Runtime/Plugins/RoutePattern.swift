import QuikMariaDB
import QuikSDK
import QuikSupport

/// A plugin route's path relative to its mount: literal segments and `{name}` parameters.
package struct RoutePattern: Sendable, Hashable, CustomStringConvertible {
    package enum Segment: Sendable, Hashable {
        case literal(String)
        case parameter(String)
    }

    package let segments: [Segment]

    /// Parses `"/"`, `"/{id}"`, `"/{id}/pins"`. A path that tries to leave the mount
    /// (`..`, `.`, an absolute `/api/…`), or is otherwise malformed, is refused.
    package init(_ path: String) throws(PluginError) {
        guard path.hasPrefix("/") else {
            throw PluginError(.badRequest, "route path '\(path)' must start with '/' and is relative to the plugin's mount")
        }
        guard !path.contains("?"), !path.contains("#"), !path.contains("//") else {
            throw PluginError(.badRequest, "route path '\(path)' is malformed")
        }
        var segments: [Segment] = []
        for (index, part) in path.split(separator: "/", omittingEmptySubsequences: true).enumerated() {
            if part == ".." || part == "." || (index == 0 && part == "api") {
                throw PluginError(.forbidden, "route path '\(path)' lies outside the plugin's mount")
            }
            if part.hasPrefix("{") && part.hasSuffix("}") {
                let name = String(part.dropFirst().dropLast())
                guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    throw PluginError(.badRequest, "route path '\(path)' has a malformed parameter")
                }
                segments.append(.parameter(name))
            } else {
                guard !part.contains("{"), !part.contains("}") else {
                    throw PluginError(.badRequest, "route path '\(path)' has a malformed parameter")
                }
                segments.append(.literal(String(part)))
            }
        }
        self.segments = segments
    }

    /// Matches path segments below the mount, returning the parameters.
    package func match(_ parts: ArraySlice<Substring>) -> [String: String]? {
        guard parts.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let literal):
                guard part == literal else { return nil }
            case .parameter(let name):
                parameters[name] = String(part).removingPercentEncoding ?? String(part)
            }
        }
        return parameters
    }

    /// Literal segments sort before parameters, so `/pins` wins over `/{id}`.
    package var specificity: [Int] { segments.map { if case .literal = $0 { 0 } else { 1 } } }

    package var description: String {
        "/" + segments.map {
            switch $0 {
            case .literal(let literal): literal
            case .parameter(let name): "{\(name)}"
            }
        }.joined(separator: "/")
    }
}
