import Foundation

/// An HTTP/1.1 response read off a raw socket: status, headers (names lowercased) and body.
struct RawHTTPResponse {
    let status: Int
    let headers: [String: String]
    let body: Data

    /// The envelope's `error.code`.
    var errorCode: String? {
        let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
        return (object?["error"] as? [String: Any])?["code"] as? String
    }

    /// The first complete response in `bytes` (a body framed by `Content-Length`) and its length in bytes.
    static func parse(_ bytes: [UInt8]) -> (RawHTTPResponse, Int)? {
        let terminator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4, let end = (0...(bytes.count - 4)).first(where: { bytes[$0..<($0 + 4)].elementsEqual(terminator) }) else {
            return nil
        }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        let start = end + 4
        guard bytes.count >= start + length else { return nil }
        return (RawHTTPResponse(status: status, headers: headers, body: Data(bytes[start..<(start + length)])), start + length)
    }
}
