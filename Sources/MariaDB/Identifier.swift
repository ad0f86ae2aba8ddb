import QuikSupport

/// Quoting of identifiers the host made itself from checked characters.
package enum Identifier {
    package static func quote(_ name: String) -> String {
        "`" + name.replacingOccurrences(of: "`", with: "``") + "`"
    }
}
