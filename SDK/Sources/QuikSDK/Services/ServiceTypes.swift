import Foundation

/// Answers a call to a service the plugin provides: JSON in, JSON out.
public typealias ServiceHandler = @Sendable (ServiceCall) async throws -> Data

/// A call to a plugin's service.
public struct ServiceCall: Sendable {
    /// The calling plugin.
    public var caller: String
    /// The service name.
    public var service: String
    /// The request payload, JSON.
    public var payload: Data

    /// Creates a call (the host does this).
    public init(caller: String, service: String, payload: Data) {
        self.caller = caller
        self.service = service
        self.payload = payload
    }

    /// Decodes the payload; failure is a `bad_request`.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try JSONDecoder.quik.decode(type, from: payload)
        } catch {
            throw PluginError(.badRequest, "payload of service '\(service)' does not decode")
        }
    }
}

/// What an interceptor decides about the action a hook guards.
public enum HookDecision: Sendable, Equatable {
    /// Let the action go ahead unchanged.
    case proceed
    /// Go ahead with this payload instead (for example, a rewritten message).
    case replace(Data)
    /// Refuse the action; the reason reaches the client.
    case reject(reason: String)
}

/// Inspects, rewrites or rejects the payload of a hook.
public typealias HookHandler = @Sendable (HookInvocation) async throws -> HookDecision

/// A hook being run, as an interceptor sees it.
public struct HookInvocation: Sendable {
    /// The hook name, such as `message.will_post`.
    public var hook: String
    /// The payload as left by earlier interceptors.
    public var payload: Data

    /// Creates an invocation (the host does this).
    public init(hook: String, payload: Data) {
        self.hook = hook
        self.payload = payload
    }
}

/// The result of running a hook through its interceptors.
public struct HookOutcome: Sendable, Equatable {
    /// The payload to go ahead with (rewritten or not), or `nil` when rejected.
    public var payload: Data?
    /// Why the action was refused, when it was.
    public var rejection: String?
    /// The plugin that rejected it.
    public var rejectedBy: String?
    /// Interceptors that failed or ran past the deadline and were skipped.
    public var skipped: [String]

    /// Creates an outcome (the host does this).
    public init(payload: Data?, rejection: String?, rejectedBy: String?, skipped: [String]) {
        self.payload = payload
        self.rejection = rejection
        self.rejectedBy = rejectedBy
        self.skipped = skipped
    }

    /// Whether the action may go ahead.
    public var isAccepted: Bool { rejection == nil }
}
