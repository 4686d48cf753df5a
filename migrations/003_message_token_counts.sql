-- Exact token counts of every message, as OpenAI's tiktoken counts its content (API.md, "Exact
-- token counts"), in the two encodings the store knows. The server counts them when it stores a
-- message; NULL marks a message stored before this version (or with TOKEN_ENCODING=estimate)
-- until `research-store tokens backfill` counts it.
--
-- Nullable columns without a default: adding them changes only the catalog, not a row. The CHECKs
-- are NOT VALID, so adding them scans nothing either; they hold for every row written from now on,
-- and every existing row is NULL, which passes them.
ALTER TABLE messages
    ADD COLUMN tokens_o200k integer,
    ADD COLUMN tokens_cl100k integer;
ALTER TABLE messages
    ADD CONSTRAINT messages_tokens_o200k_range CHECK (tokens_o200k >= 0) NOT VALID,
    ADD CONSTRAINT messages_tokens_cl100k_range CHECK (tokens_cl100k >= 0) NOT VALID;
COMMENT ON COLUMN messages.tokens_o200k IS 'Tokens of content in o200k_base; NULL until counted.';
COMMENT ON COLUMN messages.tokens_cl100k IS 'Tokens of content in cl100k_base; NULL until counted.';
