/// `Authorization: Bearer <token>`.
package enum BearerToken {
    package static func from(_ header: String?) -> String? {
        // Byte-wise: this runs on every authenticated request.
        guard let header else { return nil }
        let bytes = header.utf8
        guard bytes.count > 7, bytes.prefix(7).elementsEqual("bearer ".utf8, by: { ($0 | 0x20) == $1 }) else { return nil }
        let token = bytes.dropFirst(7).drop(while: { $0 == 0x20 || $0 == 0x09 })
        let end = token.lastIndex(where: { $0 != 0x20 && $0 != 0x09 })
        guard let end else { return nil }
        return String(Substring(token[...end]))
    }
}
