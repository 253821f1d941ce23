import Hummingbird
import Prometheus
import ViTServing

/// The HTTP endpoints over a set of served models.
struct Routes: Sendable {
    let services: [InferenceService]
    let configuration: ServerConfiguration
    let registry: PrometheusCollectorRegistry

    /// The paths served and the methods each accepts (HEAD wherever GET is: Hummingbird answers
    /// it from the GET route). A request for another path is a JSON 404; another method on one of
    /// these paths is a JSON 405 with `Allow`.
    static let methodsByPath: [String: [HTTPRequest.Method]] = [
        "/v1/classify": [.post], "/v1/embed": [.post],
        "/v1/models": [.get, .head], "/healthz": [.get, .head], "/metrics": [.get, .head],
    ]

    func register(on router: Router<BasicRequestContext>) {
        router.add(middleware: UnmatchedRoutes(methodsByPath: Self.methodsByPath))
        router.post("/v1/classify") { request, _ in try await classify(request) }
        router.post("/v1/embed") { request, _ in try await embed(request) }
        router.get("/v1/models") { _, _ in models() }
        router.get("/healthz") { _, _ in
            JSONBody.response(HealthResponse(status: "ok", models: services.map(\.model.info.name)))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }

    private func classify(_ request: Request) async throws(APIError) -> Response {
        let service = try model(for: request)
        let top = try integerParameter("top", of: request) ?? configuration.defaultTop
        let image = try await RequestImage.read(request, limit: configuration.maxBodyBytes)
        do {
            let classes = try await service.classify(image.data, top: top, name: image.name)
            return JSONBody.response(ClassifyResponse(model: service.model.info.name, top: classes))
        } catch {
            throw APIError(error)
        }
    }

    private func embed(_ request: Request) async throws(APIError) -> Response {
        let service = try model(for: request)
        let image = try await RequestImage.read(request, limit: configuration.maxBodyBytes)
        do {
            let embedding = try await service.embed(image.data, name: image.name)
            return JSONBody.response(EmbedResponse(model: service.model.info.name, dimensions: embedding.count,
                                                   embedding: embedding))
        } catch {
            throw APIError(error)
        }
    }

    private func models() -> Response {
        JSONBody.response(ModelsResponse(defaultModel: services[0].model.info.name,
                                         models: services.map(ModelsResponse.Entry.init)))
    }

    /// The service `?model=` names (by name or alias), or the first one.
    private func model(for request: Request) throws(APIError) -> InferenceService {
        guard let name = request.uri.queryParameters["model"].map(String.init) else { return services[0] }
        let wanted = name.lowercased()
        guard let service = services.first(where: { $0.model.info.name == wanted || $0.model.info.aliases.contains(wanted) }) else {
            throw .unknownModel(name, available: services.map(\.model.info.name))
        }
        return service
    }

    /// An integer query parameter, nil if absent.
    private func integerParameter(_ name: String, of request: Request) throws(APIError) -> Int? {
        guard let text = request.uri.queryParameters[Substring(name)] else { return nil }
        guard let value = Int(text) else {
            throw .badRequest("invalid_\(name)", "?\(name)=\(text) is not an integer")
        }
        return value
    }
}
