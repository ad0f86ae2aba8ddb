import CVips
import Foundation
import QuikSDK

/// Dimensions and thumbnails through libvips, for PNG, JPEG, GIF and WebP only, and
/// only up to a pixel count: a few KiB can claim 20,000 × 20,000 pixels, and decoding
/// that would take gigabytes. The header is read first; past the limit nothing is decoded.
enum ImageProcessor {
    /// Most pixels an image may have to be decoded. 50 megapixels.
    static let maximumPixels = 50_000_000
    /// Largest file read into memory for processing. 64 MiB.
    static let maximumBytes = 64 << 20
    /// The loaders libvips may use; anything else is not an image here.
    static let loaders: Set<String> = ["VipsForeignLoadPngBuffer", "VipsForeignLoadJpegBuffer", "VipsForeignLoadGifBuffer", "VipsForeignLoadWebpBuffer"]

    struct Rendition: Sendable {
        var data: Data
        var mime: String
    }

    struct Result: Sendable {
        var width: Int
        var height: Int
        /// Fits 400 × 400, and 1920 × 1080, when the image is small enough to decode.
        var thumbnail: Rendition?
        var preview: Rendition?
    }

    private static let started: Bool = quik_vips_start() == 0

    /// What libvips makes of `data`, or `nil` when it is not an image it may read.
    static func process(_ data: Data) async -> Result? {
        guard started, data.count <= maximumBytes else { return nil }
        // Decoding is CPU work of tens of milliseconds: off the cooperative pool.
        return await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .utility).async {
                continuation.resume(returning: processNow(data))
            }
        }
    }

    private static func processNow(_ data: Data) -> Result? {
        data.withUnsafeBytes { buffer -> Result? in
            guard let base = buffer.baseAddress else { return nil }
            defer { quik_vips_error_clear() }
            guard let loader = quik_vips_loader(base, buffer.count).map({ String(cString: $0) }), loaders.contains(loader) else { return nil }
            var width: Int32 = 0
            var height: Int32 = 0
            guard quik_vips_size(base, buffer.count, &width, &height) == 0, width > 0, height > 0 else { return nil }
            var result = Result(width: Int(width), height: Int(height))
            guard Int(width) * Int(height) <= maximumPixels else { return result }
            result.thumbnail = render(base, buffer.count, 400, 400)
            result.preview = result.thumbnail == nil ? nil : render(base, buffer.count, 1920, 1080)
            return result
        }
    }

    private static func render(_ base: UnsafeRawPointer, _ length: Int, _ width: Int32, _ height: Int32) -> Rendition? {
        var out: UnsafeMutableRawPointer?
        var outLength = 0
        var png: Int32 = 0
        guard quik_vips_thumbnail(base, length, width, height, &out, &outLength, &png) == 0, let out else { return nil }
        defer { quik_vips_free(out) }
        return Rendition(data: Data(bytes: out, count: outLength), mime: png != 0 ? "image/png" : "image/jpeg")
    }
}
