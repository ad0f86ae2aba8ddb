import Foundation

/// The time zones a profile may name: the system's IANA zones, and UTC. The OpenAPI
/// document lists the same set, so a client can offer exactly these.
enum TimeZones {
    static let known: Set<String> = Set(TimeZone.knownTimeZoneIdentifiers).union(["UTC"])
}
