import QuikSDK

/// What a reaction may be (API.md): a name, `[a-z0-9_+-]{1,64}`, or an emoji: 1–16
/// scalars from the emoji blocks, with joiners, variation selectors, keycaps and tags
/// (so a sequence such as a family or a flag is one reaction). Nothing is trimmed or
/// decoded first, and the OpenAPI schema states the same rule.
enum ReactionName {
    /// The scalars an emoji reaction is made of.
    static let emojiScalars: [ClosedRange<UInt32>] = [
        0x00A9...0x00A9, 0x00AE...0x00AE, 0x203C...0x203C, 0x2049...0x2049, 0x20E3...0x20E3, 0x2122...0x2122,
        0x2139...0x2139, 0x2194...0x21AA, 0x231A...0x23FF, 0x24C2...0x24C2, 0x25AA...0x27BF, 0x2934...0x2935,
        0x2B05...0x2B55, 0x3030...0x3030, 0x303D...0x303D, 0x3297...0x3299, 0x200D...0x200D, 0xFE0F...0xFE0F,
        0x1F000...0x1FAFF, 0xE0020...0xE007F,
    ]

    static func isValid(_ text: String) -> Bool {
        let scalars = text.unicodeScalars
        if (1...64).contains(scalars.count), scalars.allSatisfy({ isNameScalar($0) }) { return true }
        return (1...16).contains(scalars.count) && scalars.allSatisfy { scalar in emojiScalars.contains { $0.contains(scalar.value) } }
    }

    private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "+" || scalar == "-"
    }

    /// The same rule as a schema: the emoji alternative lists its scalars as literal characters.
    static let schema: APISchema = .anyOf([
        .string(pattern: "^[a-z0-9_+-]{1,64}$"),
        .string(pattern: "^[" + emojiScalars.map { range in
            let low = Character(Unicode.Scalar(range.lowerBound)!), high = Character(Unicode.Scalar(range.upperBound)!)
            return range.lowerBound == range.upperBound ? "\(low)" : "\(low)-\(high)"
        }.joined() + "]{1,16}$"),
    ])
}
