import Foundation
import QuikContracts
import QuikSDK
import Synchronization

/// Answers "may this user post here?" from the channel plugin, remembering a
/// member's answer until a `channel.*` event about that channel or member drops
/// it (and for a minute at most, in case an event was missed). Those events
/// arrive within milliseconds of the change; a post racing a removal or an
/// archive in that window is still accepted.
final class ChannelAccessCache: Sendable {
    static let lifetime: TimeInterval = 60
    static let limit = 100_000

    private let context: any PluginContext
    private let entries = Mutex<[String: (reply: ChannelAccessReply, at: Date)]>([:])

    init(context: any PluginContext) {
        self.context = context
    }

    private static func key(_ channelId: String, _ userId: String) -> String { channelId + "|" + userId }

    func access(_ channelId: String, _ userId: String) async throws -> ChannelAccessReply {
        let key = Self.key(channelId, userId)
        if let hit = entries.withLock({ $0[key] }), Date().timeIntervalSince(hit.at) < Self.lifetime { return hit.reply }
        let reply = try await context.call("channel", "access", ChannelAccessQuery(channelId: channelId, userId: userId), as: ChannelAccessReply.self)
        // Only members are remembered: someone just added must be able to post at once.
        guard reply.member else { return reply }
        entries.withLock { entries in
            if entries.count >= Self.limit { entries.removeAll() }
            entries[key] = (reply, Date())
        }
        return reply
    }

    func drop(channel channelId: String, user userId: String?) {
        entries.withLock { entries in
            if let userId {
                entries[Self.key(channelId, userId)] = nil
            } else {
                entries = entries.filter { !$0.key.hasPrefix(channelId + "|") }
            }
        }
    }

    func dropAll() {
        entries.withLock { $0.removeAll() }
    }
}
