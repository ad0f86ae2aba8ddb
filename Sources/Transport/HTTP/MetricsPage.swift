import Hummingbird
import NIOCore
import QuikRuntime

/// `GET /metrics`: the Prometheus text, and who may read it on the main port.
package enum MetricsPage {
    package static func response(_ metrics: HostMetrics) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.render())))
    }

    /// Whether an `Authorization` header carries the configured metrics token. With no
    /// token configured nobody is admitted here (the metrics address needs none).
    package static func admits(bearer header: String?, token: SecretText?) -> Bool {
        guard let token, let offered = BearerToken.from(header) else { return false }
        return token.matches(offered)
    }
}
