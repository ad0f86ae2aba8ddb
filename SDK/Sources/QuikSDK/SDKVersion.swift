/// A semantic version of the SDK.
///
/// The major number is the ABI: a plugin runs on any host whose SDK has the
/// same major number and at least the minor number the plugin was built with.
public struct SDKVersion: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    /// Incremented on a change that breaks plugins already built.
    public var major: Int
    /// Incremented when the SDK gains API.
    public var minor: Int
    /// Incremented for fixes.
    public var patch: Int

    /// Creates a version from its three numbers.
    public init(major: Int, minor: Int, patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Unpacks `major * 10000 + minor * 100 + patch`, the form of `QUIK_SDK_VERSION`.
    public init(packed: Int32) {
        let value = Int(packed)
        self.init(major: value / 10000, minor: (value / 100) % 100, patch: value % 100)
    }

    /// The version of the SDK library loaded in this process.
    public static var loaded: SDKVersion { SDKVersion(packed: QUIK_SDK_VERSION) }

    /// Whether a plugin built against `self` can run on an SDK of version `host`.
    public func isCompatible(withHost host: SDKVersion) -> Bool {
        major == host.major && minor <= host.minor
    }

    /// `major.minor.patch`.
    public var description: String { "\(major).\(minor).\(patch)" }

    /// Orders versions by major, then minor, then patch.
    public static func < (lhs: SDKVersion, rhs: SDKVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }
}
