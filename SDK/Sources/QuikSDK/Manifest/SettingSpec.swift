/// One setting in a plugin's settings schema.
public struct SettingSpec: Sendable, Codable, Equatable {
    /// The kinds of value a setting may hold.
    public enum Kind: String, Sendable, Codable {
        /// Text.
        case string
        /// A whole number.
        case integer
        /// Any number.
        case number
        /// `true` or `false`.
        case boolean
        /// A list of values.
        case list
        /// A map of names to values.
        case map
    }

    /// Key in the plugin's `settings:` map.
    public var key: String
    /// The kind of value expected.
    public var kind: Kind
    /// Value used when `plugins.yml` gives none; `nil` with `required` means it must be given.
    public var defaultValue: SettingValue?
    /// Whether start-up fails when the setting is absent and has no default.
    public var required: Bool
    /// What the setting does, for `quikapp plugins list` and the docs.
    public var help: String

    /// Creates a setting specification.
    public init(key: String, kind: Kind, defaultValue: SettingValue? = nil, required: Bool = false, help: String = "") {
        self.key = key
        self.kind = kind
        self.defaultValue = defaultValue
        self.required = required
        self.help = help
    }
}
