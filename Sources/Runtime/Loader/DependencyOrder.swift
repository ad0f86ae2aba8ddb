import QuikSupport
import QuikMariaDB

/// Orders plugins so that each comes after the plugins it depends on.
package enum DependencyOrder {
    /// `dependencies` maps each plugin to those it needs; `fallback` is the
    /// order to keep among independent plugins (the file's). Plugins in a cycle
    /// come out after the rest, in fallback order; their dependencies never
    /// become running, so the loader reports them blocked.
    package static func sort(_ dependencies: [String: [String]], fallback: [String]) -> [String] {
        var done: Set<String> = []
        var visiting: Set<String> = []
        var result: [String] = []
        var cyclic: Set<String> = []

        func visit(_ name: String) -> Bool {
            if done.contains(name) { return true }
            if visiting.contains(name) { return false }
            visiting.insert(name)
            defer { visiting.remove(name) }
            var ok = true
            for dependency in dependencies[name] ?? [] where dependencies[dependency] != nil {
                ok = visit(dependency) && ok
            }
            guard ok else {
                cyclic.insert(name)
                return false
            }
            done.insert(name)
            result.append(name)
            return true
        }

        for name in fallback where dependencies[name] != nil {
            _ = visit(name)
        }
        return result + fallback.filter { cyclic.contains($0) && !done.contains($0) }
    }
}
