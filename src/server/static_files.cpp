#include "server/static_files.hpp"

#include "common/json_writer.hpp"

#include <cstdio>

namespace walcast::server {

namespace {

constexpr std::string_view immutable_cache = "public, max-age=31536000, immutable";
constexpr std::string_view revalidate_cache = "no-cache";

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// FNV-1a, 64 bit: a cheap, stable fingerprint for the ETag (not a security boundary).
std::string etag_of(std::string_view bytes) {
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    char buf[24];
    std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
    return buf;
}

} // namespace

std::string_view content_type_for(std::string_view name) {
    struct Entry {
        std::string_view ext;
        std::string_view type;
    };
    static constexpr Entry types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
    };
    for (const auto& t : types)
        if (ends_with(name, t.ext)) return t.type;
    return "application/octet-stream";
}

bool has_content_hash(std::string_view name) {
    auto slash = name.rfind('/');
    if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
    auto dot = name.rfind('.');
    if (dot == std::string_view::npos || dot < 9) return false;
    if (name[dot - 9] != '-') return false;
    for (std::size_t i = dot - 8; i < dot; ++i) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
    }
    return true;
}

void StaticFiles::add_embedded(std::span<const EmbeddedFile> files) {
    for (const auto& f : files) {
        std::string path = "/" + std::string(f.name);
        add(path, std::string(content_type_for(f.name)),
            std::string(has_content_hash(f.name) ? immutable_cache : revalidate_cache),
            std::string(f.bytes));
    }
}

void StaticFiles::add(std::string path, std::string content_type, std::string cache_control,
                      std::string body) {
    StaticFile f;
    f.etag = etag_of(body);
    f.content_type = std::move(content_type);
    f.cache_control = std::move(cache_control);
    f.body = std::move(body);
    files_[std::move(path)] = std::move(f);
}

const StaticFile* StaticFiles::find(std::string_view path) const {
    if (path == "/") path = "/index.html";
    auto it = files_.find(std::string(path));
    return it == files_.end() ? nullptr : &it->second;
}

std::string inspector_config_json(const InspectorConfig& config) {
    std::string out = "{\"anon_jwt\":";
    if (config.anon_jwt.empty()) {
        out += "null";
    } else {
        json::append_string(out, config.anon_jwt);
    }
    out += ",\"tables\":[";
    for (std::size_t i = 0; i < config.tables.size(); ++i) {
        if (i) out += ',';
        json::append_string(out, config.tables[i]);
    }
    out += "],\"insert_example\":";
    if (config.insert_example.empty()) {
        out += "null";
    } else {
        json::append_string(out, config.insert_example);
    }
    out += '}';
    return out;
}

} // namespace walcast::server
