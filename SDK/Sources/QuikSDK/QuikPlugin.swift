/// A QuikApp plugin: one domain service, compiled as its own shared library.
///
/// The host creates the plugin through the library's `quikapp_plugin_create`
/// entry point, reads its ``manifest``, grants what the manifest asks for, and
/// calls ``setup(_:)`` once. Everything the plugin does afterwards goes through
/// the ``PluginContext`` it was given.
public protocol QuikPlugin: AnyObject, Sendable {
    /// What the plugin is and what it asks of the host.
    var manifest: PluginManifest { get }

    /// Registers routes, frame handlers, subscriptions, services and hooks.
    ///
    /// Throwing marks the plugin failed; the rest of the host keeps serving.
    func setup(_ context: any PluginContext) async throws

    /// Called once when the plugin is stopped or replaced by a reload,
    /// after its in-flight requests have finished.
    func shutdown() async

    /// The plugin's schema migrations, applied by the host before ``setup(_:)``
    /// when the manifest asks for a database. Since SDK 1.1.
    var migrations: [Migration] { get }
}

extension QuikPlugin {
    /// Does nothing.
    public func shutdown() async {}

    /// None.
    public var migrations: [Migration] { [] }
}
