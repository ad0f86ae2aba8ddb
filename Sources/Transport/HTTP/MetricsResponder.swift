import Hummingbird
import QuikRuntime
import QuikSDK

/// The responder of the metrics address (`server.metrics_address`): `GET /metrics`
/// with no token, since reaching that address is the credential; 404 for anything else.
package struct MetricsResponder: HTTPResponder {
    package typealias Context = HostRequestContext

    package let metrics: HostMetrics

    package init(metrics: HostMetrics) {
        self.metrics = metrics
    }

    package func respond(to request: Request, context: HostRequestContext) async throws -> Response {
        var response =
            request.method == .get && request.uri.path == "/metrics"
            ? MetricsPage.response(metrics)
            : ErrorEnvelope.response(PluginError(.notFound, "this address serves only GET /metrics"))
        response.headers[.requestID] = RequestIDs.accept(request.headers[.requestID])
        return response
    }
}
