import Foundation
import Logging
import QuikMariaDB
import QuikSDK
import QuikSupport
import Synchronization

/// What plugins do through their context: publish, call services, answer frames, run hooks.
extension HostRuntime {
    /// Publishes an event of the host's own (`host.*`, `access.*`).
    package func publishHostEvent(_ topic: String, _ payload: some Encodable) {
        let data = (try? JSONEncoder.quik.encode(payload)) ?? Data()
        bus.publish(Event(id: EventID.make(), topic: topic, payload: data, source: "host", publishedAt: Date()))
    }

    package func publish(_ topic: String, payload: Data, from instance: PluginInstance) throws(PluginError) -> String {
        try TopicRules.checkPublish(topic, plugin: instance.name, namespaces: instance.manifest.namespaces)
        let event = Event(id: EventID.make(), topic: topic, payload: payload, source: instance.name, publishedAt: Date())
        bus.publish(event)
        return event.id
    }

    package func callService(plugin target: String, service: String, payload: Data, from caller: PluginInstance) async throws -> Data {
        guard caller.manifest.dependencies.contains(target) || caller.manifest.optionalDependencies.contains(target) else {
            throw PluginError(.forbidden, "plugin '\(caller.name)' must list '\(target)' in its dependencies to call its services")
        }
        return try await callService(plugin: target, service: service, payload: payload, caller: caller.name)
    }

    /// Calls a plugin's service as `caller` (`host` for the host's own commands).
    package func callService(plugin target: String, service: String, payload: Data, caller: String) async throws -> Data {
        let call = ServiceCall(caller: caller, service: service, payload: payload)
        do {
            let reply = try await withInstance({ $0.active[target] }) { instance in
                guard let handler = instance.sealed.services[service] else {
                    throw PluginError(.notFound, "plugin '\(target)' has no service '\(service)'")
                }
                instance.enter()
                return try await withDeadline(configuration.requestTimeout, onEnd: instance.leave) { try await handler(call) }
            }
            guard let reply else { throw PluginError(.unavailable, "plugin '\(target)' is not running") }
            return reply
        } catch let error as PluginError {
            throw error
        } catch is DeadlineExceeded {
            throw PluginError(.unavailable, "service '\(target).\(service)' did not answer in time")
        } catch let error as DatabaseError where error.isTransient {
            throw PluginError(.unavailable, "the database is unavailable; try again shortly")
        } catch {
            logger.error("service failed", metadata: ["plugin": "\(target)", "service": "\(service)", "error": "\(error)"])
            throw PluginError(.internalError, "service '\(target).\(service)' failed")
        }
    }

    package func dispatchFrame(_ frame: ClientFrame) async throws -> Bool {
        let handled = try await withInstance({ tables in tables.frames[frame.type].flatMap { tables.active[$0] } }) { instance in
            guard let handler = instance.sealed.frames[frame.type] else { return false }
            instance.enter()
            try await withDeadline(configuration.requestTimeout, onEnd: instance.leave) { try await handler(frame) }
            return true
        }
        return handled ?? false
    }

    package func runHook(_ hook: String, payload: Data, from instance: PluginInstance) async throws(PluginError) -> HookOutcome {
        guard instance.manifest.capabilities.declaresHooks.contains(hook) else {
            throw PluginError(.forbidden, "plugin '\(instance.name)' does not declare hook '\(hook)'")
        }
        let interceptors = tables.withLock { $0.hooks[hook] ?? [] }
        var current = payload
        var skipped: [String] = []
        for interceptor in interceptors {
            let invocation = HookInvocation(hook: hook, payload: current)
            do {
                let decision = try await withDeadline(configuration.hookTimeout) { try await interceptor.handler(invocation) }
                switch decision {
                case .proceed: continue
                case .replace(let replacement): current = replacement
                case .reject(let reason):
                    return HookOutcome(payload: nil, rejection: reason, rejectedBy: interceptor.plugin, skipped: skipped)
                @unknown default: continue
                }
            } catch {
                skipped.append(interceptor.plugin)
                metrics.hookSkipped(hook: hook, plugin: interceptor.plugin)
                logger.warning(
                    "hook interceptor skipped",
                    metadata: ["hook": "\(hook)", "plugin": "\(interceptor.plugin)", "error": "\(error)"])
            }
        }
        return HookOutcome(payload: current, rejection: nil, rejectedBy: nil, skipped: skipped)
    }
}
