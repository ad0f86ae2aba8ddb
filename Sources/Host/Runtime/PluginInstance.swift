import Foundation
import QuikSDK
import Synchronization

/// One loaded version of a plugin. A hot reload creates a new instance beside
/// the old one; the old one keeps answering the requests it already took.
final class PluginInstance: Sendable {
    /// Unique across the process; identifies this version's subscriptions.
    let id: Int
    let plugin: any QuikPlugin
    let manifest: PluginManifest
    let library: PluginLibrary
    let settings: PluginSettings
    /// The plugin's database, when its manifest asks for one.
    let database: PluginDatabaseHandle?
    let loadedAt: Date
    let registrations = Mutex(Registrations())
    private let inflightCount = Atomic<Int>(0)

    private static let nextID = Atomic<Int>(0)

    init(plugin: any QuikPlugin, manifest: PluginManifest, library: PluginLibrary, settings: PluginSettings, database: PluginDatabaseHandle?) {
        self.id = Self.nextID.add(1, ordering: .relaxed).newValue
        self.plugin = plugin
        self.manifest = manifest
        self.library = library
        self.settings = settings
        self.database = database
        self.loadedAt = Date()
    }

    var name: String { manifest.name }

    /// Requests, frames and service calls this instance is answering now.
    var inflight: Int { inflightCount.load(ordering: .acquiring) }

    /// Counts one piece of in-flight work; pair with ``leave()``.
    func enter() { inflightCount.add(1, ordering: .acquiringAndReleasing) }

    /// Ends one piece of in-flight work.
    func leave() { inflightCount.subtract(1, ordering: .acquiringAndReleasing) }

    /// The sealed registrations.
    var sealed: Registrations { registrations.withLock { $0 } }
}
