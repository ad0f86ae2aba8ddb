import Foundation
import MultipartKit
import NIOCore
import QuikSDK

/// The `file` part of a `multipart/form-data` body, read as it arrives: other parts
/// are skipped, and the part's bytes go on as they are parsed, never collected.
final class MultipartUpload: @unchecked Sendable {
    // One reader pulls it in order; the parser's callbacks run inside `feed`.
    private let parser: MultipartParser
    private let source: ByteStream
    private var partHeaders: [String: String] = [:]
    private var inFile = false
    private var fileSeen = false
    private var fileDone = false
    private var pending: [Data] = []
    private(set) var fileName: String?
    private(set) var fileType: String?

    /// The boundary of a `multipart/form-data` content type, or `nil`.
    static func boundary(of contentType: String) -> String? {
        guard contentType.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == "boundary" {
                let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                return (1...70).contains(value.count) ? value : nil
            }
        }
        return nil
    }

    init(boundary: String, source: ByteStream) {
        parser = MultipartParser(boundary: boundary)
        self.source = source
        parser.onHeader = { [unowned self] name, value in
            partHeaders[name.lowercased()] = value
        }
        parser.onBody = { [unowned self] buffer in
            startPartIfNeeded()
            if inFile, let bytes = buffer.readBytes(length: buffer.readableBytes) { pending.append(Data(bytes)) }
        }
        parser.onPartComplete = { [unowned self] in
            startPartIfNeeded()
            if inFile {
                inFile = false
                fileDone = true
            }
            partHeaders = [:]
            partStarted = false
        }
    }

    /// Whether the current part's headers were read (the parser says so only by its first body bytes or its end).
    private var partStarted = false

    private func startPartIfNeeded() {
        guard !partStarted else { return }
        partStarted = true
        let disposition = partHeaders["content-disposition"] ?? ""
        if !fileSeen, Self.parameter("name", in: disposition) == "file" {
            fileSeen = true
            inFile = true
            fileName = Self.parameter("filename", in: disposition)
            fileType = partHeaders["content-type"]
        }
    }

    /// A `name="value"` parameter of a header.
    static func parameter(_ name: String, in header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == name else { continue }
            var value = pair[1]
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }

    /// Reads until the `file` part begins; `validation_failed` when the body has none.
    func open() async throws {
        while !fileSeen {
            guard try await feed() else {
                throw PluginError(.validationFailed, "the form has no part named 'file'", details: ["file": "is required"])
            }
        }
    }

    /// Feeds the parser one more piece of the body; `false` at its end.
    private func feed() async throws -> Bool {
        guard let piece = try await source.next() else { return false }
        do {
            try parser.execute(ByteBuffer(bytes: piece))
        } catch {
            throw PluginError(.badRequest, "the multipart body is malformed")
        }
        return true
    }

    /// The file part's bytes as they are parsed.
    var stream: ByteStream {
        ByteStream { [self] in
            while pending.isEmpty {
                if fileDone { return nil }
                guard try await feed() else {
                    throw PluginError(.badRequest, "the multipart body ended inside the file part")
                }
            }
            return pending.removeFirst()
        }
    }
}
