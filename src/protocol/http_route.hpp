// Plain HTTP endpoints a protocol serves next to its WebSocket (the Supabase REST broadcast):
// the transport parses the request and hands it to the route whose path prefix matches; the
// route answers through a callback, possibly later and from another thread.
#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace walcast::protocol {

/// One request as the transport read it. Valid only during the handler call (copy what is
/// needed later).
struct HttpRequest {
    std::string method;                ///< "POST", "OPTIONS", … (upper case)
    std::string path;                  ///< percent-encoded, as sent
    std::vector<std::string> segments; ///< the path's segments, percent-decoded
    std::function<std::optional<std::string>(std::string_view)> query; ///< decoded value
    /// Every query parameter (name, value), percent-decoded (`+` = space), in order.
    std::vector<std::pair<std::string, std::string>> query_params;
    std::function<std::optional<std::string>(std::string_view)> header; ///< case-insensitive
    /// Calls the visitor with every request header (name as sent, value), in order.
    std::function<void(const std::function<void(std::string_view name, std::string_view value)>&)>
        each_header;
    std::string body;
};

/// The writing end of a streamed response body (Server-Sent Events). Any thread.
class HttpStream {
public:
    virtual ~HttpStream() = default;
    /// Queues bytes of the body, written in order. false once the stream has ended (the client
    /// went away, end() was called, or the client left more than CLIENT_QUEUE_HARD_BYTES
    /// unread, which ends it): the producer should stop.
    virtual bool write(std::string bytes) = 0;
    /// Ends the body after what was queued, and closes the connection.
    virtual void end() = 0;
};

/// A response whose body is streamed until either side ends it. The head goes out without a
/// length, with `Connection: close` (the body ends when the connection does; RFC 9112 §6.3).
struct HttpStreamSpec {
    /// Called once, on the connection's strand, after the head was written. What it returns is
    /// kept until the stream ends and released then (on the strand): the producer's state,
    /// whose destruction stops it (unsubscribes).
    std::function<std::shared_ptr<void>(std::shared_ptr<HttpStream>)> open;
    /// Written after `heartbeat_interval` without a write ("" = none): keeps proxies from
    /// closing an idle stream, and finds a client that went away.
    std::string heartbeat;
    std::chrono::milliseconds heartbeat_interval{15'000};
    /// The stream ends then (the token's exp), after `end_bytes` is written.
    std::optional<std::chrono::system_clock::time_point> end_at;
    std::string end_bytes;
};

struct HttpResponse {
    unsigned status = 200;
    std::string content_type; ///< empty with an empty body
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers; ///< extra headers
    /// Set: the body is streamed (`body` is written first); see HttpStreamSpec.
    std::optional<HttpStreamSpec> stream;
};

/// Answers a request: respond is called exactly once, from any thread.
using HttpHandler =
    std::function<void(const HttpRequest&, std::function<void(HttpResponse)> respond)>;

struct HttpRoute {
    std::string prefix;                     ///< the path itself or prefix + "/…"
    std::size_t max_body_bytes = 64 * 1024; ///< longer bodies: 413 from the transport
    HttpHandler handler;
};

/// The request's token (Supabase REST, spec §7.5.2): `Authorization: Bearer <t>` (scheme
/// case-insensitive) when present and non-empty, else the `apikey` header.
inline std::optional<std::string> request_token(const HttpRequest& req) {
    if (auto a = req.header("authorization")) {
        const auto space = a->find(' ');
        if (space != std::string::npos) {
            std::string scheme = a->substr(0, space);
            for (auto& c : scheme)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            std::string t = a->substr(space + 1);
            while (!t.empty() && t.front() == ' ')
                t.erase(0, 1);
            if (scheme == "bearer" && !t.empty()) return t;
        }
    }
    if (auto k = req.header("apikey"); k && !k->empty()) return k;
    return std::nullopt;
}

/// The routes of a server; filled before it listens, read-only afterwards.
class HttpRoutes {
public:
    void add(HttpRoute route) { routes_.push_back(std::move(route)); }
    /// The largest body any route takes (0 without routes).
    std::size_t max_body_bytes() const {
        std::size_t n = 0;
        for (const auto& r : routes_)
            n = std::max(n, r.max_body_bytes);
        return n;
    }
    /// The route serving path (percent-encoded), or null.
    const HttpRoute* match(std::string_view path) const {
        for (const auto& r : routes_)
            if (path == r.prefix || (path.starts_with(r.prefix) && path.size() > r.prefix.size() &&
                                     path[r.prefix.size()] == '/'))
                return &r;
        return nullptr;
    }

private:
    std::vector<HttpRoute> routes_;
};

} // namespace walcast::protocol
