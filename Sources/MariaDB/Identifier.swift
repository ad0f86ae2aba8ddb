import QuikSupport

/// Quoting of identifiers the host made itself from checked characters.
package enum Identifier {
    package static func quote(_ name: String) -> String {
        "`" + name.replacingOccurrences(of: "`", with: "``") + "`"
    }

    /// The placeholders of an `IN` list of `count` values, such as `?, ?, ?`.
    package static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }
}
