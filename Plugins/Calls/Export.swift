import QuikSDK

@_cdecl("quikapp_plugin_abi_version") public func abiVersion() -> Int32 { QUIK_PLUGIN_ABI_VERSION }
@_cdecl("quikapp_plugin_sdk_version") public func sdkVersion() -> Int32 { QUIK_SDK_VERSION }
@_cdecl("quikapp_plugin_create") public func create() -> UnsafeMutableRawPointer { PluginExport.retain(CallsPlugin()) }
