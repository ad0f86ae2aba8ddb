import QuikMariaDB
import QuikSDK
import QuikSupport

/// Checks a plugin's `settings:` against its manifest's schema and fills in defaults.
package enum SettingsResolver {
    package static func resolve(entry: PluginEntry, schema: [SettingSpec]) throws(ConfigurationError) -> PluginSettings {
        let specs = Dictionary(schema.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        for key in entry.settings.keys.sorted() where specs[key] == nil {
            let known = schema.map(\.key).sorted()
            throw ConfigurationError(
                "plugin '\(entry.name)' has no such setting; it knows: \(known.isEmpty ? "none" : known.joined(separator: ", "))",
                key: "plugins.\(entry.name).settings.\(key)",
                at: entry.settingLocations[key] ?? entry.location)
        }
        var values: [String: SettingValue] = [:]
        for spec in schema {
            if let value = entry.settings[spec.key], value != .null {
                guard value.matches(spec.kind) else {
                    throw ConfigurationError(
                        "expected a value of kind \(spec.kind.rawValue)",
                        key: "plugins.\(entry.name).settings.\(spec.key)",
                        at: entry.settingLocations[spec.key] ?? entry.location)
                }
                values[spec.key] = value
            } else if let value = spec.defaultValue {
                values[spec.key] = value
            } else if spec.required {
                throw ConfigurationError(
                    "plugin '\(entry.name)' requires this setting",
                    key: "plugins.\(entry.name).settings.\(spec.key)",
                    at: entry.location)
            }
        }
        return PluginSettings(values)
    }
}
