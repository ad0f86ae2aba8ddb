import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import QuikSDK

/// One plugin's ``OutboundHTTP``: every hop's host is resolved here, judged by
/// ``AddressPolicy`` and then reached at exactly the address judged (pinned with
/// `dnsOverride`), so a name cannot resolve to something else between check and connect.
package struct GuardedHTTPClient: OutboundHTTP {
    let configuration: OutboundConfiguration
    /// The manifest's `outboundHosts`: names, `*.suffix`, or `*`.
    let permitted: [String]
    let plugin: String
    let logger: Logger
    /// Shared clients, reused across requests; `nil` makes one per request.
    let clients: OutboundClients?

    package init(configuration: OutboundConfiguration, permitted: [String], plugin: String, logger: Logger, clients: OutboundClients? = nil) {
        self.configuration = configuration
        self.permitted = permitted
        self.plugin = plugin
        self.logger = logger
        self.clients = clients
    }

    private func isPermitted(_ host: String) -> Bool {
        permitted.contains { pattern in
            pattern == "*" || pattern.lowercased() == host || (pattern.hasPrefix("*.") && host.hasSuffix(pattern.dropFirst(1).lowercased()))
        }
    }

    private static func resolve(_ host: String) async -> [String] {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .utility).async { continuation.resume(returning: AddressPolicy.resolve(host)) }
        }
    }

    package func allowsInternal(host: String) -> Bool {
        configuration.allowedInternalHosts.contains(host.lowercased())
    }

    package func fetch(_ request: OutboundRequest) async throws -> OutboundResponse {
        let deadline = ContinuousClock.now + .milliseconds(Int64(max(0.1, request.timeoutSeconds) * 1000))
        var url = request.url
        var method = request.method
        var body = request.body
        for hop in 0...max(0, request.maxRedirects) {
            guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
                let rawHost = parsed.host, !rawHost.isEmpty
            else { throw PluginError(.validationFailed, "only absolute http and https URLs are fetched", details: ["url": "malformed"]) }
            let host = rawHost.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            guard isPermitted(host) else {
                throw PluginError(.forbidden, "plugin '\(plugin)' may not reach \(host) (capabilities.outboundHosts)")
            }
            // IPv4 first: a dual-stack name is reached the way most servers listen.
            let addresses = await Self.resolve(host).sorted { !$0.contains(":") && $1.contains(":") }
            guard let address = addresses.first else { throw PluginError(.unavailable, "\(host) does not resolve") }
            if !configuration.allowedInternalHosts.contains(host), addresses.contains(where: AddressPolicy.isInternal) {
                logger.info("outbound request refused", metadata: ["plugin": "\(plugin)", "host": "\(host)", "hop": "\(hop)"])
                throw PluginError(.forbidden, "\(host) resolves to an internal address", details: ["url": "internal"])
            }
            let shared = clients?.client(host: host, address: address)
            let client: HTTPClient
            if let shared {
                client = shared
            } else {
                var clientConfiguration = HTTPClient.Configuration()
                clientConfiguration.redirectConfiguration = .disallow
                clientConfiguration.timeout.connect = .seconds(Int64(max(1, request.timeoutSeconds.rounded(.up))))
                if address != host { clientConfiguration.dnsOverride = [host: address] }
                client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
            }
            // Only a client made for this request is shut down after it.
            let ownClient = shared == nil
            do {
                var outgoing = HTTPClientRequest(url: url)
                outgoing.method = HTTPMethod(rawValue: method.rawValue)
                for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
                if !body.isEmpty { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
                let left = deadline - ContinuousClock.now
                guard left > .zero else { throw PluginError(.unavailable, "the request took too long") }
                let response = try await client.execute(outgoing, deadline: .now() + .nanoseconds(Int64(left.components.seconds * 1_000_000_000 + left.components.attoseconds / 1_000_000_000)))
                let status = Int(response.status.code)
                if [301, 302, 303, 307, 308].contains(status), let location = response.headers.first(name: "location"), hop < request.maxRedirects,
                    let next = URL(string: location, relativeTo: parsed)?.absoluteURL.absoluteString
                {
                    _ = try? await response.body.collect(upTo: 64 << 10)
                    if ownClient { try await client.shutdown() }
                    url = next
                    if status == 303 || ((status == 301 || status == 302) && method == .post) {
                        method = .get
                        body = Data()
                    }
                    continue
                }
                var received = Data()
                var truncated = false
                for try await piece in response.body {
                    let room = request.maxBytes - received.count
                    if piece.readableBytes > room {
                        received.append(contentsOf: piece.readableBytesView.prefix(room))
                        truncated = true
                        break
                    }
                    received.append(contentsOf: piece.readableBytesView)
                }
                var headers: [String: String] = [:]
                for header in response.headers { headers[header.name.lowercased()] = header.value }
                if ownClient { try await client.shutdown() }
                return OutboundResponse(status: status, headers: headers, body: received, truncated: truncated, url: url)
            } catch {
                if ownClient { try? await client.shutdown() }
                if let error = error as? PluginError { throw error }
                throw PluginError(.unavailable, "\(host) could not be fetched")
            }
        }
        throw PluginError(.unavailable, "more than \(request.maxRedirects) redirects")
    }
}
