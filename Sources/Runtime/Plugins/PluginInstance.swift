import Foundation
import QuikMariaDB
import QuikSDK
import QuikSupport
import Synchronization

/// One loaded version of a plugin. A hot reload creates a new instance beside
/// the old one; the old one keeps answering the requests it already took.
package final class PluginInstance: Sendable {
    /// Unique across the process; identifies this version's subscriptions.
    package let id: Int
    package let plugin: any QuikPlugin
    package let manifest: PluginManifest
    package let library: PluginLibrary
    package let settings: PluginSettings
    /// The plugin's database, when its manifest asks for one.
    package let database: PluginDatabaseHandle?
    package let loadedAt: Date
    package let registrations = Mutex(Registrations())
    /// Its background tasks (`context.run`).
    package let tasks = PluginTasks()
    private let inflightCount = Atomic<Int>(0)

    private static let nextID = Atomic<Int>(0)

    package init(plugin: any QuikPlugin, manifest: PluginManifest, library: PluginLibrary, settings: PluginSettings, database: PluginDatabaseHandle?) {
        self.id = Self.nextID.add(1, ordering: .relaxed).newValue
        self.plugin = plugin
        self.manifest = manifest
        self.library = library
        self.settings = settings
        self.database = database
        self.loadedAt = Date()
    }

    package var name: String { manifest.name }

    /// Requests, frames and service calls this instance is answering now.
    package var inflight: Int { inflightCount.load(ordering: .acquiring) }

    /// Counts one piece of in-flight work; pair with ``leave()``.
    package func enter() { inflightCount.add(1, ordering: .acquiringAndReleasing) }

    /// Ends one piece of in-flight work.
    package func leave() { inflightCount.subtract(1, ordering: .acquiringAndReleasing) }

    /// The sealed registrations.
    package var sealed: Registrations { registrations.withLock { $0 } }
}
