import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// Answers the search routes: turns the caller's access into channel ids at query
/// time, resolves `from:` and `in:`, asks the engine, and reads the hits back from
/// the message plugin (which checks once more that the caller may read each).
struct SearchService: Sendable {
    let context: any PluginContext
    let engine: any SearchEngine

    /// What highlights need of a message.
    private struct MessageText: Decodable {
        var text: String
    }

    /// What the caller may read in the workspace, or 404 when they are not in it.
    func readable(_ workspaceId: String?, _ principal: Principal) async throws -> [ReadableChannel] {
        guard let workspaceId, IDs.isPlausible(workspaceId) else {
            throw PluginError(.validationFailed, "workspace_id is required", details: ["workspace_id": "is required"])
        }
        let reply = try await context.call(
            "channel", "readable", ReadableChannelsQuery(workspaceId: workspaceId, userId: principal.userId), as: ReadableChannels.self)
        guard reply.workspaceRole != nil else { throw PluginError(.notFound, "no such workspace") }
        return reply.channels
    }

    /// The filters of `query` that name people and channels, resolved: `nil` when unfiltered, `[]` when they name nobody.
    private func resolve(_ query: SearchQuery, readable: [ReadableChannel], principal: Principal) async throws
        -> (channels: [String], authors: [String]?, zone: TimeZone)
    {
        var channels = readable.map(\.id)
        if !query.channels.isEmpty {
            let wanted = Set(query.channels.map { SearchQuery.parts($0).joined(separator: "-") })
            let ids = Set(query.channels)
            channels = readable.filter { ids.contains($0.id) || (!$0.name.isEmpty && wanted.contains(SearchQuery.parts($0.name).joined(separator: "-"))) }
                .map(\.id)
        }
        // Only a `from:` or a date needs the user plugin: the people named, and the caller's time zone.
        let utc = TimeZone(identifier: "UTC")!
        let dated = query.before != nil || query.after != nil || query.on != nil
        guard !query.from.isEmpty || dated else { return (channels, nil, utc) }
        var authors: [String]?
        // Each value is taken as a user id and as a display name: `from:@ada` finds either.
        let lookup = try await context.call(
            "user", "lookup", UserLookup(userIds: [principal.userId], displayNames: query.from), as: UserLookupReply.self)
        if !query.from.isEmpty {
            let folded = Set(query.from.map { SearchQuery.parts($0) })
            let named = lookup.users.filter { folded.contains(SearchQuery.parts($0.displayName)) }.map(\.id)
            authors = Array(Set(query.from.filter(IDs.isPlausible) + named))
        }
        let zone = lookup.users.first { $0.id == principal.userId }.flatMap { TimeZone(identifier: $0.timezone) } ?? utc
        return (channels, authors, zone)
    }

    /// `{"items": [{message, channel_id, highlights}], "next_cursor"}`, each message as the message plugin wrote it.
    func messages(workspaceId: String?, q: String?, page: Page, principal: Principal) async throws -> Data {
        let readable = try await readable(workspaceId, principal)
        let query = try SearchQuery.parse(q ?? "")
        let nothing = Data(#"{"items":[],"next_cursor":null}"#.utf8)
        guard !query.isVacant else { return nothing }
        let (channels, authors, zone) = try await resolve(query, readable: readable, principal: principal)
        guard !channels.isEmpty, authors?.isEmpty != true else { return nothing }
        let interval = query.interval(in: zone)
        if let from = interval.from, let before = interval.before, from >= before { return nothing }
        let found = try await engine.search(
            EngineQuery(
                query: query, channelIds: channels, authorIds: authors, from: interval.from, before: interval.before, cursor: page.cursor,
                limit: page.limit))
        guard !found.ids.isEmpty else { return nothing }
        let visible = try await context.call(
            "message", "visible", VisibleMessagesQuery(messageIds: found.ids, userId: principal.userId), as: VisibleMessages.self)
        var body = Data(#"{"items":["#.utf8)
        for (index, entry) in visible.messages.enumerated() {
            let text = (try? JSONDecoder().decode(MessageText.self, from: entry.message).text) ?? ""
            let head = try JSONEncoder.quik.encode(["channel_id": entry.channelId])
            let highlights = try JSONEncoder.quik.encode(Highlighter.highlights(text, for: query))
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body += head.dropLast() + Data(#","highlights":"#.utf8) + highlights + Data(#","message":"#.utf8) + entry.message + Data("}".utf8)
        }
        body += Data(#"],"next_cursor":"#.utf8) + (try JSONEncoder.quik.encode(found.nextCursor)) + Data("}".utf8)
        return body
    }

    func channels(workspaceId: String?, q: String?, page: Page, principal: Principal) async throws -> ListResponse<ReadableChannel> {
        let readable = try await readable(workspaceId, principal)
        guard let q, !q.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw PluginError(.validationFailed, "the query is empty", details: ["q": "is required"])
        }
        guard q.unicodeScalars.count <= SearchQuery.maximumLength else {
            throw PluginError(.validationFailed, "the query is too long", details: ["q": "at most \(SearchQuery.maximumLength) characters"])
        }
        let words = SearchQuery.parts(q)
        let matching = readable.filter { channel in
            guard channel.kind != "direct" else { return false }
            let own = SearchQuery.parts(channel.name) + SearchQuery.parts(channel.topic)
            return words.allSatisfy { word in own.contains { $0.hasPrefix(word) } }
        }
        .sorted { ($0.name, $0.id) < ($1.name, $1.id) }
        let after = matching.drop { channel in page.cursor.map { channel.name + "\u{0}" + channel.id <= $0 } ?? false }
        return ListResponse(fetched: Array(after.prefix(page.limit + 1)), limit: page.limit) { $0.name + "\u{0}" + $0.id }
    }

    func files(workspaceId: String?, q: String?, page: Page, principal: Principal) async throws -> ListResponse<FileSummary> {
        let readable = try await readable(workspaceId, principal)
        let query = try SearchQuery.parse(q ?? "")
        let (channels, authors, zone) = try await resolve(query, readable: readable, principal: principal)
        let interval = query.interval(in: zone)
        let words = query.words + query.prefixes + query.phrases.map { $0.joined(separator: " ") }
        let excluded = query.excludedWords + query.excludedPhrases.map { $0.joined(separator: " ") }
        guard !words.isEmpty || !excluded.isEmpty || !query.from.isEmpty || !query.channels.isEmpty || interval.from != nil
            || interval.before != nil
        else { return ListResponse(items: [], nextCursor: nil) }
        let reply = try await context.call(
            "files", "find",
            FileSearchQuery(
                workspaceId: workspaceId ?? "", userId: principal.userId, readableChannelIds: readable.map(\.id), words: words, excluded: excluded,
                uploaderIds: authors, channelIds: query.channels.isEmpty ? nil : channels, createdFrom: interval.from,
                createdBefore: interval.before, limit: page.limit, cursor: page.cursor),
            as: FileSearchReply.self)
        return ListResponse(items: reply.files, nextCursor: reply.nextCursor)
    }
}
