import QuikMariaDB
import QuikSDK
import QuikSupport

/// What a manifest must satisfy before the plugin is set up.
package enum ManifestRules {
    /// Mounts the host serves itself.
    package static let reservedMounts: Set<String> = ["realtime", "openapi.json"]

    /// Event namespaces (and the caller name `host`) the host keeps for itself.
    package static let reservedNamespaces: Set<String> = ["host", "access", "realtime"]

    package static func check(_ manifest: PluginManifest, entryName: String) throws(PluginLoadError) {
        guard manifest.name == entryName else {
            throw PluginLoadError(.manifestRefused, "the library holds plugin '\(manifest.name)', but \(entryName)'s entry loads it")
        }
        if let reserved = ([manifest.name] + manifest.namespaces).first(where: reservedNamespaces.contains) {
            throw PluginLoadError(.manifestRefused, "'\(reserved)' is reserved for the host")
        }
        for permission in manifest.permissions where !Topic.isValid(permission.name) {
            throw PluginLoadError(.manifestRefused, "permission name '\(permission.name)' is malformed")
        }
        if let mount = manifest.mount {
            guard PluginName.isValid(mount), !reservedMounts.contains(mount) else {
                throw PluginLoadError(.manifestRefused, "mount '\(mount)' is reserved or malformed")
            }
        }
        for namespace in manifest.namespaces where !PluginName.isValid(namespace) {
            throw PluginLoadError(.manifestRefused, "event namespace '\(namespace)' is malformed")
        }
        for hook in manifest.capabilities.declaresHooks + manifest.capabilities.intercepts where !Topic.isValid(hook) {
            throw PluginLoadError(.manifestRefused, "hook name '\(hook)' is malformed")
        }
        for hook in manifest.capabilities.declaresHooks where !manifest.namespaces.contains(String(Topic.namespace(of: hook))) {
            throw PluginLoadError(.manifestRefused, "hook '\(hook)' lies outside the plugin's namespaces")
        }
        if manifest.dependencies.contains(manifest.name) {
            throw PluginLoadError(.manifestRefused, "a plugin cannot depend on itself")
        }
    }
}
