import Foundation

extension SettingValue {
    /// Parses JSON text; anything malformed becomes `null`.
    init(parsing text: String) {
        self = (try? JSONDecoder().decode(SettingValue.self, from: Data(text.utf8))) ?? .null
    }

    /// JSON text with sorted keys, so equal values print alike.
    var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}
