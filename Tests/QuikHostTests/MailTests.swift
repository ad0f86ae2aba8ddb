import Foundation
import QuikHost
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

/// The host's mailer: `.eml` files by default (the identity tests read those), SMTP when configured.
@Suite("Mail", .serialized, .timeLimit(.minutes(2)))
struct MailTests {
    @Test("with mail.smtp_url the verification mail goes to the relay over SMTP, with a dot-stuffed body and no .eml file")
    func smtpRelay() async throws {
        let sink = try await SMTPSink()
        var configuration = try PluginsFile.parse(
            "mail:\n  smtp_url: smtp://127.0.0.1:\(sink.port)\n  from: \"QuikApp <bot@quikapp.test>\"\n" + IdentityHost.yaml(), file: "mail.yml")
        configuration.port = 0
        configuration.stateDirectory = try Fixtures.temporaryDirectory()
        configuration.database.url = try await TestDatabase.socket()
        configuration.database.schemaPrefix = TestDatabase.uniquePrefix()
        let (test, task) = try await TestHost.start(configuration: configuration, authenticator: nil)
        let identity = IdentityHost(test: test)
        let ada = try await identity.register("Ada")
        #expect(try await test.client.post("/api/v1/auth/password/forgot", json: #"{"email":"\#(ada.email)"}"#).status == 202)
        try await identity.eventually("the reset mail relayed") { sink.messages.count == 2 }
        await test.host.shutdown()
        try await task.value
        await sink.stop()

        let messages = sink.messages
        #expect(messages.count == 2)
        #expect(messages.allSatisfy { $0.from == "<bot@quikapp.test>" && $0.to == ["<\(ada.email)>"] })
        #expect(messages.first?.data.contains("Subject: Confirm your QuikApp email address") == true)
        #expect(messages.last?.data.contains("/reset-password?token=") == true)
        #expect(try identity.mails().isEmpty)
    }

    @Test("a relay that is down does not fail registration; the mail is logged as not sent")
    func relayDown() async throws {
        var configuration = try PluginsFile.parse("mail:\n  smtp_url: smtp://127.0.0.1:1\n" + IdentityHost.yaml(), file: "mail.yml")
        configuration.port = 0
        configuration.stateDirectory = try Fixtures.temporaryDirectory()
        configuration.database.url = try await TestDatabase.socket()
        configuration.database.schemaPrefix = TestDatabase.uniquePrefix()
        try await TestHost.serve(try await TestHost.start(configuration: configuration, authenticator: nil)) { test in
            _ = try await IdentityHost(test: test).register("Ada")
        }
    }

    @Test("a malformed mail.smtp_url stops start-up with its line")
    func badURL() throws {
        #expect(throws: ConfigurationError.self) { try PluginsFile.parse("mail:\n  smtp_url: http://x\n", file: "m.yml") }
    }
}
