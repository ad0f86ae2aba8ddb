import Foundation
import Testing

/// A client of a running host: one in this process (``IdentityHost``) or a `quikapp serve` child (``RemoteChat``).
protocol ChatDriver {
    var client: TestClient { get }
    var port: Int { get }
}

extension IdentityHost: ChatDriver {
    var port: Int { test.port }
}

/// The client side of a `quikapp serve` child process on `port`.
struct RemoteChat: ChatDriver {
    let client: TestClient
    let port: Int

    init(port: Int) {
        self.port = port
        client = TestClient(port: port)
    }
}

/// Messaging steps as a client takes them.
extension ChatDriver {
    typealias Account = IdentityHost.Account

    /// Registers a new account and returns its tokens.
    func register(_ name: String, displayName: String? = nil, password: String = "correct horse battery") async throws -> Account {
        let email = "\(name)-\(UUID().uuidString.prefix(8))@example.com".lowercased()
        let reply = try await client.post(
            "/api/v1/auth/register", json: #"{"email":"\#(email)","password":"\#(password)","display_name":"\#(displayName ?? name)"}"#)
        guard reply.status == 201 else { throw TestFailure("register \(name): \(reply.status) \(reply.text)") }
        let body = try reply.json()
        let user = body["user"] as? [String: Any] ?? [:]
        return Account(
            id: user["id"] as? String ?? "", email: email, password: password, access: body["access_token"] as? String ?? "",
            refresh: body["refresh_token"] as? String ?? "")
    }

    func json(_ reply: TestClient.Reply, _ status: Int, _ what: String) throws -> [String: Any] {
        guard reply.status == status else { throw TestFailure("\(what): \(reply.status) \(reply.text)") }
        return try reply.json()
    }

    /// A workspace owned by `owner`, joined through an invite by each of `members`.
    func workspace(owner: Account, members: [Account]) async throws -> String {
        let slug = "ws-\(UUID().uuidString.prefix(8).lowercased())"
        let created = try json(
            try await client.post("/api/v1/workspaces", json: #"{"name":"Team","slug":"\#(slug)"}"#, token: owner.access), 201, "create workspace")
        let id = try #require(created["id"] as? String)
        for member in members {
            let invite = try json(try await client.post("/api/v1/workspaces/\(id)/invites", token: owner.access), 201, "invite")
            let code = try #require(invite["code"] as? String)
            _ = try json(try await client.post("/api/v1/workspaces/join", json: #"{"code":"\#(code)"}"#, token: member.access), 200, "join")
        }
        return id
    }

    func channel(_ workspace: String, _ name: String, kind: String = "public", by owner: Account, adding members: [Account] = []) async throws -> String {
        let created = try json(
            try await client.post(
                "/api/v1/channels", json: #"{"workspace_id":"\#(workspace)","name":"\#(name)","kind":"\#(kind)"}"#, token: owner.access), 201,
            "create channel")
        let id = try #require(created["id"] as? String)
        for member in members {
            _ = try json(
                try await client.post("/api/v1/channels/\(id)/members", json: #"{"user_id":"\#(member.id)"}"#, token: owner.access), 200,
                "add member")
        }
        return id
    }

    func post(_ channel: String, _ text: String, by author: Account, root: String? = nil, clientId: String? = nil) async throws -> TestClient.Reply {
        var body: [String: String] = ["channel_id": channel, "text": text]
        if let root { body["thread_root_id"] = root }
        if let clientId { body["client_msg_id"] = clientId }
        let data = try JSONSerialization.data(withJSONObject: body)
        return try await client.post("/api/v1/messages", json: String(decoding: data, as: UTF8.self), token: author.access)
    }

    func socket(_ account: Account) async throws -> TestSocket {
        let socket = TestSocket(port: port, token: account.access)
        try await socket.waitFor("hello") { $0["type"] as? String == "hello" }
        return socket
    }
}

extension TestSocket {
    /// The `event` frames received so far on `topic`, in order.
    func events(_ topic: String) -> [[String: Any]] {
        received.filter { $0["type"] as? String == "event" && $0["topic"] as? String == topic }
    }

    /// Waits for an event on `topic` whose data matches.
    @discardableResult
    func waitForEvent(_ topic: String, timeout: Duration = .seconds(5), where match: @escaping ([String: Any]) -> Bool = { _ in true }) async throws
        -> [String: Any]
    {
        let frame = try await waitFor(topic, timeout: timeout) { frame in
            frame["type"] as? String == "event" && frame["topic"] as? String == topic && match(frame["data"] as? [String: Any] ?? [:])
        }
        return frame["data"] as? [String: Any] ?? [:]
    }
}
