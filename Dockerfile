# ResearchStore container image: build with the official Swift image, run on slim Debian.
#   docker build -t research-store:0.1.0 .
# No HEALTHCHECK: Kubernetes probes /livez and /readyz (see kubernetes/deployment.yaml).

# --- build ------------------------------------------------------------------------------
# The same Swift version as CI (6.3.1) on the same Debian release as the runtime stage.
FROM swift:6.3.1-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev libssl-dev libsqlite3-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so that a source change does not refetch them.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product research-store --static-swift-stdlib \
    && cp "$(swift build -c release --show-bin-path)/research-store" /research-store

# --- run --------------------------------------------------------------------------------
FROM debian:bookworm-slim
# libpq5 for the server, libsqlite3-0 for `research-store import`; postgresql-client (psql) and bash for the migration Job
# (scripts/migrate); ca-certificates for sslmode=verify-full against public CAs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 libsqlite3-0 ca-certificates postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin research-store
WORKDIR /app
COPY --from=build /research-store /app/research-store
COPY schema.sql /app/schema.sql
COPY migrations /app/migrations
COPY scripts/migrate /app/scripts/migrate
# The tokenizer's vocabularies (and their licence); TOKENIZER_VOCABULARY_DIR tells the server.
COPY Sources/Tokenizer/Vocabularies /app/vocabularies
ENV HOST=0.0.0.0 \
    PORT=8080 \
    LOG_FORMAT=json \
    RESEARCH_STORE_HOME=/app \
    TOKENIZER_VOCABULARY_DIR=/app/vocabularies
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/app/research-store"]
CMD ["serve"]
