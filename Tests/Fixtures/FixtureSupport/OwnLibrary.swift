import Foundation

/// Lets a fixture plugin take its name from the file it was loaded from, so a
/// test can load several copies of one library as different plugins.
public enum OwnLibrary {
    /// `libnotes-a.so` → `notes-a`; a dev-mode copy `notes-a-123-4.so` → `notes-a`.
    public static func pluginName(fallback: String) -> String {
        var file = Substring(path()?.split(separator: "/").last ?? "lib\(fallback).so")
        if file.hasPrefix("lib") { file = file.dropFirst(3) }
        if file.hasSuffix(".so") { file = file.dropLast(3) }
        let parts = file.split(separator: "-")
        if parts.count >= 3, parts.suffix(2).allSatisfy({ $0.allSatisfy(\.isNumber) }) {
            file = Substring(parts.dropLast(2).joined(separator: "-"))
        }
        return file.lowercased()
    }

    /// The file this image was loaded from: the mapping that holds its header.
    /// procfs files report size 0, so the whole file is read, not one buffer.
    static func path() -> String? {
        let address = UInt(bitPattern: #dsohandle)
        guard let data = try? FileHandle(forReadingAtPath: "/proc/self/maps")?.readToEnd() else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            let range = fields.first?.split(separator: "-").compactMap { UInt($0, radix: 16) } ?? []
            if range.count == 2, range[0] <= address, address < range[1], fields.count >= 6 { return String(fields[5]) }
        }
        return nil
    }
}
