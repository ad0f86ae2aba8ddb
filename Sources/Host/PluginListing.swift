import Foundation
import QuikMariaDB
import QuikRuntime
import QuikSDK
import QuikSupport
import QuikTransport

/// One `plugins.yml` entry as `quikapp plugins list` shows it.
public struct PluginListing: Sendable {
    /// The plugin name.
    public var name: String
    /// Whether the deployment runs it.
    public var enabled: Bool
    /// The library file it loads from.
    public var path: String
    /// The manifest, when the library could be opened.
    public var manifest: PluginManifest?
    /// The SDK version it was built against, when the library could be opened.
    public var sdkVersion: SDKVersion?
    /// Why the library could not be opened.
    public var problem: String?
}

extension QuikHost {
    /// Opens each listed plugin's library and reads its manifest, without setting anything up.
    public func listPlugins() -> [PluginListing] {
        core.configuration.plugins.map { entry in
            let path = core.manager.libraryPath(for: entry)
            var listing = PluginListing(name: entry.name, enabled: entry.enabled, path: path)
            do throws(PluginLoadError) {
                let library = try PluginLibrary.open(path: path)
                listing.manifest = try library.makePlugin().manifest
                listing.sdkVersion = library.builtAgainst
            } catch {
                listing.problem = error.message
            }
            return listing
        }
    }
}
