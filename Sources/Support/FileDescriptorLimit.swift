#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-file limit (`RLIMIT_NOFILE`), which bounds how many connections it can hold.
package enum FileDescriptorLimit {
    /// The soft and hard limits now.
    package static func current() -> (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(resourceNumber, &limit) == 0 else { return (1024, 1024) }
        return (clamp(limit.rlim_cur), clamp(limit.rlim_max))
    }

    /// Raises the soft limit to the hard one (an unprivileged process may), and returns
    /// the soft limit in force afterwards. An unlimited hard limit is taken as 2^20,
    /// the kernel's usual ceiling for open files.
    @discardableResult
    package static func raiseSoftLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(resourceNumber, &limit) == 0 else { return current().soft }
        let target = limit.rlim_max == unlimited ? rlim_t(1 << 20) : limit.rlim_max
        if limit.rlim_cur != unlimited, limit.rlim_cur < target {
            var raised = limit
            raised.rlim_cur = target
            _ = setrlimit(resourceNumber, &raised)
        }
        return current().soft
    }

    private static func clamp(_ value: rlim_t) -> Int {
        value == unlimited || value > rlim_t(Int32.max) ? Int(Int32.max) : Int(value)
    }

    /// `RLIM_INFINITY`, which Swift imports as a literal too large for `rlim_t`.
    private static let unlimited = rlim_t.max

    #if canImport(Glibc)
    private static let resourceNumber = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resourceNumber = RLIMIT_NOFILE
    #endif
}
