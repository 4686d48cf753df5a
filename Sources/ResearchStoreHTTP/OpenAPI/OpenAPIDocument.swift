/// The API's OpenAPI 3.1 document, `openapi.yaml`, embedded at build time by `scripts/openapi-gen`
/// (the YAML as written and its JSON form), so the binary serves it without reading files.
enum OpenAPIDocument {}
