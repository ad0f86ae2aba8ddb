/// A subscription pattern over dotted topics: `*` is one segment, a trailing `**` any number.
package struct TopicPattern: Sendable, Hashable, CustomStringConvertible {
    private enum Segment: Hashable {
        case literal(Substring)
        case one
        case rest
    }

    private let segments: [Segment]
    package let description: String

    package init(_ pattern: String) throws(PatternError) {
        let parts = pattern.split(separator: ".", omittingEmptySubsequences: false)
        guard !pattern.isEmpty, parts.allSatisfy({ !$0.isEmpty }) else {
            throw PatternError(pattern: pattern, reason: "segments must not be empty")
        }
        var segments: [Segment] = []
        for (index, part) in parts.enumerated() {
            switch part {
            case "*": segments.append(.one)
            case "**":
                guard index == parts.count - 1 else {
                    throw PatternError(pattern: pattern, reason: "'**' may only end a pattern")
                }
                segments.append(.rest)
            default:
                guard part.allSatisfy(Topic.isSegmentCharacter) else {
                    throw PatternError(pattern: pattern, reason: "segments are letters, digits, '_' and '-'")
                }
                segments.append(.literal(part))
            }
        }
        self.segments = segments
        self.description = pattern
    }

    package func matches(_ topic: String) -> Bool {
        var parts = topic.split(separator: ".", omittingEmptySubsequences: false)[...]
        for segment in segments {
            switch segment {
            case .rest: return true
            case .one:
                guard parts.popFirst() != nil else { return false }
            case .literal(let literal):
                guard parts.popFirst() == literal else { return false }
            }
        }
        return parts.isEmpty
    }

    package struct PatternError: Error, CustomStringConvertible {
        package let pattern: String
        package let reason: String
        package var description: String { "invalid topic pattern '\(pattern)': \(reason)" }
    }
}

/// Rules for concrete topics.
package enum Topic {
    package static func isSegmentCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "_" || character == "-")
    }

    /// Whether `topic` is dotted segments, at least two, of allowed characters.
    package static func isValid(_ topic: String) -> Bool {
        let parts = topic.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count >= 2 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(isSegmentCharacter) }
    }

    /// The namespace of a topic: its first segment.
    package static func namespace(of topic: String) -> Substring {
        topic.prefix { $0 != "." }
    }
}
