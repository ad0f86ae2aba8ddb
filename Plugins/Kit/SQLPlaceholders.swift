/// `?, ?, ?`: the placeholders of an `IN (…)` list of `count` values (values never enter SQL text).
public func sqlPlaceholders(_ count: Int) -> String {
    Array(repeating: "?", count: count).joined(separator: ", ")
}
