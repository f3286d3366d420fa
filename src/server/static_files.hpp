// Static files of the HTTP server: the inspector page (built from web/ by esbuild and embedded
// into the binary at build time) and /inspector/config.json, the little the page may learn
// from the server (what it says is decided by app/dev_environment: in embedded mode the anon
// JWT walcast printed, and a psql example).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace walcast::server {

/// One file embedded at build time. The list is defined by the generated web_assets.cpp
/// (cmake/web_assets.cmake), so the binary serves the page without the source tree.
struct EmbeddedFile {
    std::string_view name;  ///< path below the site root, no leading '/', e.g. "index.html"
    std::string_view bytes; ///< the file's content, static storage
};

/// The inspector page's files: index.html, inspector-<hash>.js (page + @supabase/realtime-js
/// browser bundle), inspector-<hash>.css. Defined in the generated source. Any thread.
std::span<const EmbeddedFile> inspector_files();

/// The Content-Type for a file name, by extension: text types carry "; charset=utf-8";
/// unknown extensions are "application/octet-stream".
std::string_view content_type_for(std::string_view name);

/// True for names built with a content hash ("name-XXXXXXXX.ext", 8 characters [A-Z0-9] as
/// esbuild writes them): such a file never changes under its name, so it may be cached forever.
bool has_content_hash(std::string_view name);

/// One file ready to be served.
struct StaticFile {
    std::string content_type;
    std::string cache_control; ///< Cache-Control value (RFC 9111 §5.2)
    std::string etag;          ///< strong validator, quoted (RFC 9110 §8.8.3)
    std::string body;
};

/// Path → file table, filled at start-up and read-only afterwards (then safe from any thread).
class StaticFiles {
public:
    /// Adds embedded files under "/<name>". Hashed names get "public, max-age=31536000,
    /// immutable"; the others "no-cache" (revalidate with the ETag).
    void add_embedded(std::span<const EmbeddedFile> files);
    /// Adds (or replaces) a file made at run time under path (which starts with '/').
    void add(std::string path, std::string content_type, std::string cache_control,
             std::string body);
    /// The file for a request path (already percent-decoded, no query); "/" means
    /// "/index.html". nullptr when absent. Never touches the filesystem.
    const StaticFile* find(std::string_view path) const;

private:
    std::unordered_map<std::string, StaticFile> files_;
};

/// What GET /inspector/config.json tells the page.
struct InspectorConfig {
    std::string anon_jwt;            ///< empty = the user pastes a token
    std::vector<std::string> tables; ///< suggestions for the table field
    std::string insert_example;      ///< a command the user can run to make a change
};

/// {"anon_jwt": "<jwt>"|null, "tables": [...], "insert_example": "..."|null}
std::string inspector_config_json(const InspectorConfig& config);

} // namespace walcast::server
