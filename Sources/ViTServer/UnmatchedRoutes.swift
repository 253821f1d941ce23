import Hummingbird

/// Turns the router's bare "not found" into the server's JSON errors: 404 `not_found` for a path
/// that is not served, 405 `method_not_allowed` with `Allow` for a served path asked with another
/// method (a client learns which method to use, instead of being told the endpoint is missing).
struct UnmatchedRoutes<Context: RequestContext>: RouterMiddleware {
    let methodsByPath: [String: [HTTPRequest.Method]]

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            var path = request.uri.path
            while path.count > 1, path.hasSuffix("/") { path.removeLast() }
            if let allowed = methodsByPath[path] {
                throw APIError(.methodNotAllowed, code: "method_not_allowed",
                               message: "\(path) accepts \(allowed.map(\.rawValue).joined(separator: ", ")), not \(request.method.rawValue)",
                               allowedMethods: allowed)
            }
            throw APIError(.notFound, code: "not_found",
                           message: "no endpoint at \(path); served: \(methodsByPath.keys.sorted().joined(separator: ", "))")
        }
    }
}
