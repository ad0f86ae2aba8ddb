import QuikMariaDB
import QuikSDK
import QuikSupport

/// What the runtime needs of the realtime gateway, which lives in the transport
/// layer above it: sending to users and groups, group membership, and cutting a
/// user off.
package protocol RealtimeHub: Sendable {
    /// Sends an event to every socket of the audience.
    func send(_ event: RealtimeEvent, to audience: Audience)
    /// Adds users to a named group.
    func join(_ group: String, userIds: [String])
    /// Removes users from a named group.
    func leave(_ group: String, userIds: [String])
    /// Closes every socket of a user whose access was revoked.
    func disconnect(userId: String)
    /// Closes the sockets opened with a token of one of these sessions.
    func disconnect(sessionIds: Set<String>)
    /// The user of an open socket.
    func owner(ofConnection id: String) -> String?
}
