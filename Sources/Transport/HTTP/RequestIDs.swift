import QuikSupport

/// Request ids: the client's when it is sensible, otherwise a new one.
package enum RequestIDs {
    package static func accept(_ offered: String?) -> String {
        if let offered, (1...128).contains(offered.utf8.count),
            offered.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
        {
            return offered
        }
        return "req_" + EventID.make()
    }
}
