import QuikSDK

// Exports the version symbols but not `quikapp_plugin_create`.
@_cdecl("quikapp_plugin_abi_version") public func abiVersion() -> Int32 { QUIK_PLUGIN_ABI_VERSION }
@_cdecl("quikapp_plugin_sdk_version") public func sdkVersion() -> Int32 { QUIK_SDK_VERSION }
