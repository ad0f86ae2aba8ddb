/// Outbound HTTP from plugins (`outbound:` in plugins.yml).
public struct OutboundConfiguration: Sendable {
    /// Host names (as written in URLs) that may resolve to internal addresses, such as a
    /// company wiki on a private network. Default: none.
    public var allowedInternalHosts: Set<String> = []

    /// Nothing internal allowed.
    public init() {}
}
