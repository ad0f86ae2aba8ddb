
#if canImport(Glibc)
import Foundation
import Glibc
import QuikMariaDB
import QuikSDK
import QuikSupport
#elseif canImport(Darwin)
import Darwin
#endif

/// A plugin's shared library, opened and handshaken.
///
/// Libraries are never closed: unloading a Swift image that has run crashes
/// the process later (DESIGN.md), so a reload opens a copy at a new path instead.
package struct PluginLibrary: Sendable {
    /// The file that was opened (for a reload, the copy).
    package let path: String
    /// The SDK version the plugin was compiled against.
    package let builtAgainst: SDKVersion
    /// Makes the plugin object.
    private let create: @convention(c) () -> UnsafeMutableRawPointer?

    /// Opens `path`, checks the entry-point ABI and the SDK version, and finds the create symbol.
    package static func open(path: String, hostSDK: SDKVersion = .loaded) throws(PluginLoadError) -> PluginLibrary {
        guard FileManager.default.fileExists(atPath: path) else {
            throw PluginLoadError(.missingLibrary, "no plugin library at \(path)")
        }
        dlerror()
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw PluginLoadError(.openFailed, "cannot open \(path): \(lastDLError())")
        }
        typealias VersionFunction = @convention(c) () -> Int32
        guard let abiSymbol = dlsym(handle, PluginExport.Symbol.abiVersion) else {
            throw PluginLoadError(.missingSymbol, "\(path) does not export \(PluginExport.Symbol.abiVersion); is it a QuikApp plugin?")
        }
        let abi = unsafeBitCast(abiSymbol, to: VersionFunction.self)()
        guard abi == QUIK_PLUGIN_ABI_VERSION else {
            throw PluginLoadError(
                .abiMismatch,
                "\(path) uses plugin entry-point ABI \(abi); this host speaks ABI \(QUIK_PLUGIN_ABI_VERSION). Rebuild the plugin against this SDK.")
        }
        guard let sdkSymbol = dlsym(handle, PluginExport.Symbol.sdkVersion) else {
            throw PluginLoadError(.missingSymbol, "\(path) does not export \(PluginExport.Symbol.sdkVersion)")
        }
        let builtAgainst = SDKVersion(packed: unsafeBitCast(sdkSymbol, to: VersionFunction.self)())
        guard builtAgainst.isCompatible(withHost: hostSDK) else {
            throw PluginLoadError(
                .abiMismatch,
                "\(path) was built against SDK \(builtAgainst); this host has SDK \(hostSDK). A plugin needs the same major version and a minor version no newer than the host's.")
        }
        guard let createSymbol = dlsym(handle, PluginExport.Symbol.create) else {
            throw PluginLoadError(.missingSymbol, "\(path) does not export \(PluginExport.Symbol.create)")
        }
        return PluginLibrary(
            path: path,
            builtAgainst: builtAgainst,
            create: unsafeBitCast(createSymbol, to: (@convention(c) () -> UnsafeMutableRawPointer?).self))
    }

    /// Calls the create entry point.
    package func makePlugin() throws(PluginLoadError) -> any QuikPlugin {
        guard let pointer = create() else {
            throw PluginLoadError(.createFailed, "\(PluginExport.Symbol.create) in \(path) returned null")
        }
        return PluginExport.take(pointer)
    }

    private static func lastDLError() -> String {
        guard let message = dlerror() else { return "unknown error" }
        return String(cString: message)
    }
}

/// Why a plugin could not be loaded or started.
public struct PluginLoadError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure.
    public enum Kind: String, Sendable {
        /// No file at the resolved path.
        case missingLibrary = "missing_library"
        /// `dlopen` failed.
        case openFailed = "open_failed"
        /// A required C entry symbol is absent.
        case missingSymbol = "missing_symbol"
        /// Entry-point ABI or SDK version incompatible.
        case abiMismatch = "abi_mismatch"
        /// The create entry point failed.
        case createFailed = "create_failed"
        /// The manifest is invalid or asks for something refused.
        case manifestRefused = "manifest_refused"
        /// `setup` threw, timed out or registered something refused.
        case setupFailed = "setup_failed"
        /// A dependency is disabled, missing or failed.
        case blocked
    }

    /// What kind of failure.
    public var kind: Kind
    /// A message for `/health` and the logs.
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
