import QuikSDK
import Foundation

/// Where the deployment keeps blobs (`storage:` in plugins.yml).
public struct StorageConfiguration: Sendable {
    /// The kind of store.
    public enum Backend: Sendable {
        /// Files under a folder; `nil` means `<state_dir>/files`.
        case local(directory: String?)
        /// An S3-compatible bucket.
        case s3(S3Configuration)
    }

    /// Default: a folder under the state directory.
    public var backend: Backend = .local(directory: nil)

    /// Local storage under the state directory.
    public init() {}
}

/// An S3-compatible bucket, reached with AWS Signature V4.
public struct S3Configuration: Sendable, CustomStringConvertible {
    /// Base URL of the service, such as `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:9000`.
    public var endpoint: String
    /// The bucket, addressed path-style (`<endpoint>/<bucket>/<key>`).
    public var bucket: String
    /// Signing region. Default `us-east-1`.
    public var region: String = "us-east-1"
    /// Access key id.
    public var accessKeyId: String
    /// Secret access key; never printed.
    public var secretAccessKey: String
    /// Objects larger than this go up as a multipart upload in parts of this size (S3's
    /// minimum part is 5 MiB). Default 8 MiB, so an upload holds at most one part in memory.
    public var partSize: Int = 8 << 20

    /// A bucket at `endpoint`.
    public init(endpoint: String, bucket: String, accessKeyId: String, secretAccessKey: String) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
    }

    public var description: String { "s3(\(endpoint)/\(bucket), region \(region), key \(accessKeyId), secret redacted)" }
}

extension StorageConfiguration {
    /// The store this configuration describes; a local one under `<stateDirectory>/files` by default.
    public func makeStore(stateDirectory: String) throws -> any BlobStore {
        switch backend {
        case .local(let directory): try LocalBlobStore(directory: directory ?? stateDirectory + "/files")
        case .s3(let s3): try S3BlobStore(configuration: s3)
        }
    }
}
