/// Moves a plugin object across the C entry point `quikapp_plugin_create`.
///
/// A plugin library exports three C symbols:
///
/// ```swift
/// @_cdecl("quikapp_plugin_abi_version")
/// public func quikappPluginABIVersion() -> Int32 { QUIK_PLUGIN_ABI_VERSION }
///
/// @_cdecl("quikapp_plugin_sdk_version")
/// public func quikappPluginSDKVersion() -> Int32 { QUIK_SDK_VERSION }
///
/// @_cdecl("quikapp_plugin_create")
/// public func quikappPluginCreate() -> UnsafeMutableRawPointer {
///     PluginExport.retain(MyPlugin())
/// }
/// ```
///
/// `QUIK_PLUGIN_ABI_VERSION` and `QUIK_SDK_VERSION` are C macros, so their
/// values are compiled into the plugin: they tell the host what the plugin was
/// built against, not what is loaded now.
public enum PluginExport {
    /// Names of the C symbols a plugin library exports.
    public enum Symbol {
        /// `() -> Int32`: the entry-point ABI version, `QUIK_PLUGIN_ABI_VERSION`.
        public static var abiVersion: String { "quikapp_plugin_abi_version" }
        /// `() -> Int32`: the packed SDK version built against, `QUIK_SDK_VERSION`.
        public static var sdkVersion: String { "quikapp_plugin_sdk_version" }
        /// `() -> UnsafeMutableRawPointer`: a retained plugin object.
        public static var create: String { "quikapp_plugin_create" }
    }

    /// Returns a retained opaque pointer to the plugin, for `quikapp_plugin_create`.
    public static func retain(_ plugin: any QuikPlugin) -> UnsafeMutableRawPointer {
        Unmanaged.passRetained(PluginBox(plugin)).toOpaque()
    }

    /// Takes ownership of a pointer returned by `quikapp_plugin_create` (host side).
    public static func take(_ pointer: UnsafeMutableRawPointer) -> any QuikPlugin {
        Unmanaged<PluginBox>.fromOpaque(pointer).takeRetainedValue().plugin
    }
}

/// Holds an existential so that it can travel as one retained object pointer.
final class PluginBox {
    let plugin: any QuikPlugin
    init(_ plugin: any QuikPlugin) { self.plugin = plugin }
}
