import HTTPTypes
import Hummingbird

/// `/dashboard`: the operators' page of the admin statistics, and its script and style sheet, all
/// compiled into the binary (nothing is loaded from elsewhere, so it works offline).
///
/// The shell and its assets hold no data and are public (a browser's navigation carries no bearer
/// token); the page asks for a token (in `jwt` mode) or a user id (in `none` mode) and every
/// figure it draws comes from the admin statistics routes, which answer admins only. The one thing
/// the shell tells is the auth mode, so the page knows which of the two to ask for.
struct DashboardController {
    let html: String

    init(auth: AuthMode) {
        let mode: String
        switch auth {
        case .none: mode = "none"
        case .jwt: mode = "jwt"
        }
        html = DashboardAssets.html.replacing("{{AUTH_MODE}}", with: mode)
    }

    /// What the browser may load for these pages: this origin only (the favicon is a `data:` URL).
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    func register(with router: Router<some RequestContext>) {
        let html = self.html
        router.get("/dashboard") { _, _ in Self.response(html, contentType: "text/html; charset=utf-8") }
        router.get("/dashboard/app.js") { _, _ in Self.response(DashboardAssets.script, contentType: "text/javascript; charset=utf-8") }
        router.get("/dashboard/app.css") { _, _ in Self.response(DashboardAssets.styleSheet, contentType: "text/css; charset=utf-8") }
    }

    static func response(_ text: String, contentType: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: contentType, .contentSecurityPolicy: contentSecurityPolicy, .cacheControl: "no-cache",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
