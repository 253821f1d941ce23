/// Where the HTTP server listens and what it accepts. Batching, queue, timeout and pixel limits
/// belong to each model's `ServingConfiguration` (ViTServing).
public struct ServerConfiguration: Sendable {
    /// Address to listen on (`127.0.0.1` for local use, `0.0.0.0` for every interface).
    public var host: String
    /// TCP port; 0 picks a free one (reported to `onServerRunning`).
    public var port: Int
    /// Request bodies above this many bytes are refused with 413 (checked against
    /// `Content-Length` before reading, and while reading).
    public var maxBodyBytes: Int
    /// Classes returned by `/v1/classify` without `?top=`.
    public var defaultTop: Int
    /// The `Server` response header, if any.
    public var serverName: String?
    /// A connection from which nothing has been read for this long is closed: an idle keep-alive
    /// connection, and a client that stopped sending in the middle of its headers or its body (which
    /// would otherwise hold the connection, and a graceful shutdown, forever). `nil`: never.
    public var idleTimeout: Duration?
    /// A request must have arrived whole (headers and body) within this long of the connection
    /// opening or of the previous response, or the connection is closed: a client trickling bytes
    /// (slowloris) is never idle, so only a deadline ends it. `nil`: no deadline.
    public var requestReadTimeout: Duration?
    /// Connections held at once; one beyond it is closed as it opens. `nil`: no cap.
    public var maxConnections: Int?
    /// How long a graceful shutdown (SIGTERM) may take: requests in flight are answered and
    /// queues drained until then; after it, connections still open (a stalled upload, a slow
    /// client) are cut and the queued requests fail, so the process ends in bounded time, before
    /// an orchestrator's kill (Kubernetes waits 30 s; `docker stop` 10 s, so pass less there).
    /// `nil`: wait as long as it takes.
    public var shutdownGracePeriod: Duration?

    /// Creates a configuration.
    public init(host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 16 << 20, defaultTop: Int = 5,
                serverName: String? = "vit-serve", idleTimeout: Duration? = .seconds(30),
                requestReadTimeout: Duration? = .seconds(60), maxConnections: Int? = 1024,
                shutdownGracePeriod: Duration? = .seconds(25)) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.defaultTop = defaultTop
        self.serverName = serverName
        self.idleTimeout = idleTimeout
        self.requestReadTimeout = requestReadTimeout
        self.maxConnections = maxConnections
        self.shutdownGracePeriod = shutdownGracePeriod
    }
}
