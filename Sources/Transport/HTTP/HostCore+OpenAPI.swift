import Foundation
import QuikMariaDB
import QuikRuntime
import QuikSupport

extension HostCore {
    /// The OpenAPI document for the host and every running plugin.
    package func openAPI() -> Data {
        OpenAPIDocument.build(
            version: Self.version,
            instances: runtime.snapshot.active.values.sorted { $0.name < $1.name },
            devMode: configuration.devMode)
    }
}
