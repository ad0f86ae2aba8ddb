import QuikSDK

/// Who may publish what.
package enum TopicRules {
    package static func checkPublish(_ topic: String, plugin: String, namespaces: [String]) throws(PluginError) {
        guard Topic.isValid(topic) else {
            throw PluginError(.badRequest, "'\(topic)' is not a topic: dotted segments of letters, digits, '_' and '-'")
        }
        guard namespaces.contains(String(Topic.namespace(of: topic))) else {
            throw PluginError(
                .forbidden,
                "plugin '\(plugin)' may not publish '\(topic)': its namespaces are \(namespaces.joined(separator: ", "))")
        }
    }
}
