import QuikTesting

/// The harness's realtime client.
typealias TestSocket = RealtimeTestSocket
