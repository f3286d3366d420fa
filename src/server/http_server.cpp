#include "server/http_server.hpp"

#include "common/clock.hpp"
#include "common/json_writer.hpp"
#include "common/logging.hpp"
#include "server/static_files.hpp"
#include "server/tls_relay.hpp"
#include "server/websocket_handshake.hpp"
#include "server/ws_connection.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/system_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <deque>
#include <list>
#include <mutex>
#include <sys/socket.h>

namespace walcast::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
/// An accepted TCP connection, or the plaintext end of a TLS relay.
using Socket = asio::generic::stream_protocol::socket;

namespace {

/// Largest request head accepted (the WebSocket upgrade carries a JWT in the query).
constexpr std::uint32_t max_header_bytes = 16 * 1024;
/// Plain HTTP requests here are GETs; bodies are not expected.
constexpr std::uint64_t max_body_bytes = 64 * 1024;

/// A complete HTTP/1.1 response with a JSON body that closes the connection.
std::string closing_response(std::string_view status, std::string_view json_body) {
    std::string r = "HTTP/1.1 ";
    r += status;
    r += "\r\nServer: walcast\r\nContent-Type: application/json\r\nConnection: close\r\n"
         "Content-Length: ";
    r += std::to_string(json_body.size());
    r += "\r\n\r\n";
    r += json_body;
    return r;
}

/// Sends `response` (a short, complete HTTP response) with one non-blocking send and closes
/// the socket: for connections being dropped, which must not hold a write open.
void send_and_close(Socket& socket, std::string_view response) {
    if (!socket.is_open()) return;
    [[maybe_unused]] const ssize_t n = ::send(socket.native_handle(), response.data(),
                                              response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    beast::error_code ignored;
    socket.shutdown(Socket::shutdown_both, ignored);
    socket.close(ignored);
}

} // namespace

class HttpConnection;

/// The connections that have not completed a WebSocket upgrade, oldest first, bounded by
/// MAX_PENDING_CONNECTIONS: a new one past the bound evicts the oldest (which, as a normal
/// client sends its request within milliseconds of connecting, is the one holding its request
/// open longest). Any thread (a mutex); connections are held weakly and remove themselves when
/// destroyed.
class PendingConnections {
public:
    struct Entry {
        std::weak_ptr<HttpConnection> connection;
        bool* listed; ///< the connection's flag, cleared (under the mutex) when evicted
    };
    using List = std::list<Entry>;
    explicit PendingConnections(ServerContext& ctx) : ctx_(ctx) {}

    /// Registers c (listed becomes true); returns its position and the connection to evict.
    std::pair<List::iterator, std::shared_ptr<HttpConnection>>
    add(const std::shared_ptr<HttpConnection>& c, bool& listed) {
        std::shared_ptr<HttpConnection> evict;
        std::lock_guard lock(mu_);
        if (list_.size() >= ctx_.config.max_pending_connections) {
            // The oldest that is still alive (an expired one is removing itself right now).
            for (auto it = list_.begin(); it != list_.end(); ++it) {
                if ((evict = it->connection.lock())) {
                    *it->listed = false;
                    list_.erase(it);
                    ctx_.metrics.http_pending.sub();
                    break;
                }
            }
        }
        list_.push_back({c, &listed});
        listed = true;
        ctx_.metrics.http_pending.add();
        return {std::prev(list_.end()), evict};
    }
    /// Forgets a connection on its destruction; a no-op once it was evicted.
    void remove(List::iterator it, const bool& listed) {
        std::lock_guard lock(mu_);
        if (!listed) return;
        list_.erase(it);
        ctx_.metrics.http_pending.sub();
    }

private:
    ServerContext& ctx_;
    std::mutex mu_;
    List list_;
};

/// One accepted connection until it is upgraded or closed. Every read of a request runs
/// against HTTP_REQUEST_TIMEOUT_MS (the head and body of a request, and the wait for the next
/// request on a kept-alive connection): past it the connection is closed, with a 408 when part
/// of a request had arrived.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
public:
    HttpConnection(Socket socket, ServerContext& ctx, std::shared_ptr<PendingConnections> pending)
        : socket_(std::move(socket)), ctx_(ctx), pending_(std::move(pending)),
          deadline_(socket_.get_executor()) {}

    ~HttpConnection() {
        if (registered_) pending_->remove(position_, listed_);
    }

    void start() {
        auto [position, evict] = pending_->add(shared_from_this(), listed_);
        position_ = position;
        registered_ = true;
        if (evict)
            asio::post(evict->socket_.get_executor(), [evict = evict] {
                evict->evicted_ = true;
                evict->ctx_.metrics.http_evicted.inc();
                log::debug("closing a connection that had not completed its request: more than "
                           "MAX_PENDING_CONNECTIONS ({}) were waiting",
                           evict->ctx_.config.max_pending_connections);
                evict->drop(closing_response("503 Service Unavailable",
                                             R"({"error":"too many connections are waiting )"
                                             R"(for their request; send the request at once )"
                                             R"(after connecting and retry"})"));
            });
        read_request();
    }

private:
    using Request = http::request<http::string_body>;
    using Response = http::response<http::string_body>;

    void read_request() {
        if (evicted_) return close();
        parser_.emplace();
        parser_->header_limit(max_header_bytes);
        // Beast compares Content-Length with the limit when the head is parsed, before the route
        // is known: the largest any route takes here, the request's own limit once routed.
        parser_->body_limit(std::max<std::uint64_t>(
            max_body_bytes, ctx_.routes ? ctx_.routes->max_body_bytes() : 0));
        deadline_.expires_after(std::chrono::milliseconds(ctx_.config.http_request_timeout_ms));
        deadline_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
            auto self = weak.lock();
            if (ec || !self) return;
            self->ctx_.metrics.http_timeouts.inc();
            // Nothing of a request arrived (an idle kept-alive connection): close quietly, as
            // an unsolicited response could be taken as the answer to a request sent now.
            if (!self->parser_->got_some() && self->buffer_.size() == 0) return self->close();
            self->drop(
                closing_response("408 Request Timeout",
                                 R"({"error":"the request was not sent within )" +
                                     std::to_string(self->ctx_.config.http_request_timeout_ms) +
                                     R"( ms (HTTP_REQUEST_TIMEOUT_MS); send it at once )"
                                     R"(after connecting"})"));
        });
        // The head first: a protocol's HTTP route may take a larger body (REST broadcast).
        http::async_read_header(
            socket_, buffer_, *parser_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                if (ec || self->evicted_) return self->close();
                self->route_ = nullptr;
                if (self->ctx_.routes) {
                    auto url = boost::urls::parse_origin_form(self->parser_->get().target());
                    if (url) self->route_ = self->ctx_.routes->match(url->path());
                }
                const std::uint64_t limit =
                    self->route_ ? self->route_->max_body_bytes : max_body_bytes;
                self->parser_->body_limit(limit); // chunks are checked as they come
                if (auto length = self->parser_->content_length(); length && *length > limit)
                    return self->too_large();
                // curl and others wait for "100 Continue" before sending a large body.
                if (self->route_ &&
                    beast::iequals(self->parser_->get()[http::field::expect], "100-continue")) {
                    auto cont = std::make_shared<http::response<http::empty_body>>(
                        http::status::continue_, self->parser_->get().version());
                    return http::async_write(self->socket_, *cont,
                                             [self, cont](beast::error_code ec2, std::size_t) {
                                                 if (ec2) return self->close();
                                                 self->read_body();
                                             });
                }
                self->read_body();
            });
    }

    void read_body() {
        http::async_read(socket_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             self->deadline_.cancel();
                             if (self->evicted_) return self->close();
                             if (ec == http::error::body_limit) return self->too_large();
                             if (ec) return self->close();
                             self->on_request(self->parser_->release());
                         });
    }

    /// 413, then the connection is closed (the rest of the body is not read).
    void too_large() {
        deadline_.cancel();
        send(make(http::status::payload_too_large, "application/json",
                  R"({"message":"request body too large"})", parser_->get().version()),
             false);
    }

    void close() {
        deadline_.cancel();
        beast::error_code ignored;
        socket_.shutdown(Socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

    /// Strand: ends a connection that is waiting for its request with `response`.
    void drop(std::string_view response) {
        deadline_.cancel();
        send_and_close(socket_, response);
    }

    /// A kept-alive response says how long the connection may sit idle before the server
    /// closes it (`Keep-Alive: timeout=<s>`, the hint of RFC 2068 §19.7.1.1 that undici, Node's
    /// fetch, honours): the client then stops reusing it a margin before the server's idle
    /// close, instead of sending a request on a connection the server is closing that moment.
    template <class Fields> void announce_idle_timeout(Fields& res, bool keep_alive) const {
        if (keep_alive)
            res.set(http::field::keep_alive,
                    "timeout=" + std::to_string(ctx_.config.http_request_timeout_ms / 1000));
    }

    void send(Response res, bool keep_alive) {
        res.keep_alive(keep_alive);
        announce_idle_timeout(res, keep_alive);
        res.prepare_payload();
        auto sp = std::make_shared<Response>(std::move(res));
        http::async_write(
            socket_, *sp,
            [self = shared_from_this(), sp, keep_alive](beast::error_code ec, std::size_t) {
                if (ec || !keep_alive) return self->close();
                self->read_request();
            });
    }

    // A static file: validators and caching headers, 304 for a matching If-None-Match, no body
    // for HEAD; the body is sent from the table without a copy (it lives as long as the App).
    void send_static(const StaticFile& f, const Request& req) {
        const bool not_modified = !f.etag.empty() && req[http::field::if_none_match] == f.etag;
        using SpanResponse = http::response<http::span_body<const char>>;
        auto res = std::make_shared<SpanResponse>(
            not_modified ? http::status::not_modified : http::status::ok, req.version());
        res->set(http::field::server, "walcast");
        res->set(http::field::content_type, f.content_type);
        if (!f.cache_control.empty()) res->set(http::field::cache_control, f.cache_control);
        if (!f.etag.empty()) res->set(http::field::etag, f.etag);
        if (!not_modified)
            res->body() = http::span_body<const char>::value_type(f.body.data(), f.body.size());
        res->keep_alive(req.keep_alive());
        announce_idle_timeout(*res, req.keep_alive());
        res->prepare_payload();
        if (req.method() == http::verb::head || not_modified) {
            res->body() = {};
            if (!not_modified) res->content_length(f.body.size());
        }
        const bool keep_alive = req.keep_alive();
        http::async_write(
            socket_, *res,
            [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
                if (ec || !keep_alive) return self->close();
                self->read_request();
            });
    }

    Response make(http::status status, std::string content_type, std::string body,
                  unsigned version) {
        Response res{status, version};
        res.set(http::field::server, "walcast");
        if (!content_type.empty()) res.set(http::field::content_type, content_type);
        res.body() = std::move(body);
        return res;
    }

    void on_request(Request req) {
        auto url = boost::urls::parse_origin_form(req.target());
        if (!url) {
            return send(make(http::status::bad_request, "application/json",
                             R"({"error":"malformed request target"})", req.version()),
                        false);
        }
        std::string path(url->path());
        // A path with both (GraphQL: /graphql): plain requests go to the route.
        if (ctx_.upgrades.serves(path) && (!route_ || beast::websocket::is_upgrade(req)))
            return upgrade(std::move(req), *url, path);
        if (route_) return serve_route(std::move(req), *url);
        if (req.method() != http::verb::get && req.method() != http::verb::head)
            return send(make(http::status::method_not_allowed, "application/json",
                             R"({"error":"only GET is served here"})", req.version()),
                        req.keep_alive());
        // /api/health: the path some clients and load balancers probe.
        if (path == "/healthz" || path == "/api/health") {
            auto h = ctx_.health();
            std::string body = "{\"status\":";
            json::append_string(body, h.up ? "ok" : "unavailable");
            if (!h.up) {
                body += ",\"reason\":";
                json::append_string(body, h.reason);
            }
            if (!h.last_gap.empty()) {
                body += ",\"last_gap\":{\"open\":";
                body += h.gap_open ? "true" : "false";
                body += ",\"message\":";
                json::append_string(body, h.last_gap);
                body += '}';
            }
            if (!h.capture.empty()) {
                body += ",\"capture\":";
                json::append_string(body, h.capture);
                body += ",\"capture_reason\":";
                json::append_string(body, h.capture_reason);
            }
            body += '}';
            return send(make(h.up ? http::status::ok : http::status::service_unavailable,
                             "application/json", body, req.version()),
                        req.keep_alive());
        }
        if (path == "/metrics")
            return send(make(http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                             ctx_.registry.render(), req.version()),
                        req.keep_alive());
        if (const StaticFile* f = ctx_.static_files ? ctx_.static_files->find(path) : nullptr)
            return send_static(*f, req);
        send(make(http::status::not_found, "application/json",
                  R"({"error":"not found; the WebSocket endpoint is /socket/websocket"})",
                  req.version()),
             req.keep_alive());
    }

    // A protocol's HTTP endpoint: it answers through respond, maybe later and from another
    // thread; the response is written on this connection's strand.
    void serve_route(Request req, const boost::urls::url_view& url) {
        protocol::HttpRequest r;
        r.method = std::string(req.method_string());
        r.path = std::string(url.path());
        for (auto seg : url.segments())
            r.segments.emplace_back(seg);
        auto params = url.params();
        r.query = [&params](std::string_view name) -> std::optional<std::string> {
            if (auto it = params.find(name); it != params.end() && (*it).has_value)
                return std::string((*it).value);
            return std::nullopt;
        };
        for (auto p : params)
            r.query_params.emplace_back(p.key, p.has_value ? p.value : std::string());
        r.header = [&req](std::string_view name) -> std::optional<std::string> {
            if (auto h = req.find(name); h != req.end()) return std::string(h->value());
            return std::nullopt;
        };
        r.each_header = [&req](const auto& visit) {
            for (const auto& h : req)
                visit(std::string_view(h.name_string()), std::string_view(h.value()));
        };
        r.body = std::move(req.body());
        const unsigned version = req.version();
        const bool keep_alive = req.keep_alive();
        route_->handler(r, [self = shared_from_this(), version,
                            keep_alive](protocol::HttpResponse out) {
            asio::post(self->socket_.get_executor(), [self, version, keep_alive,
                                                      out = std::move(out)]() mutable {
                if (out.stream) return self->start_stream(std::move(out), version);
                auto res = self->make(static_cast<http::status>(out.status),
                                      std::move(out.content_type), std::move(out.body), version);
                for (auto& [name, value] : out.headers)
                    res.set(name, value);
                self->send(std::move(res), keep_alive);
            });
        });
    }

    /// The writing end handed to a stream's producer: bytes go to the connection's strand,
    /// counted against CLIENT_QUEUE_HARD_BYTES until written.
    class StreamWriter final : public protocol::HttpStream {
    public:
        StreamWriter(std::weak_ptr<HttpConnection> connection, std::uint64_t limit)
            : connection_(std::move(connection)), limit_(limit) {}

        bool write(std::string bytes) override {
            if (ended_.load(std::memory_order_acquire)) return false;
            auto c = connection_.lock();
            if (!c) return false;
            if (unwritten_.fetch_add(bytes.size()) + bytes.size() > limit_) {
                // The client is not reading: end the stream rather than hold more for it.
                ended_.store(true, std::memory_order_release);
                asio::post(c->socket_.get_executor(), [c] { c->end_stream(true); });
                return false;
            }
            asio::post(c->socket_.get_executor(), [c, bytes = std::move(bytes)]() mutable {
                c->stream_push(std::move(bytes));
            });
            return true;
        }
        void end() override {
            if (ended_.exchange(true)) return;
            if (auto c = connection_.lock())
                asio::post(c->socket_.get_executor(), [c] { c->stream_drain_then_close(); });
        }
        void written(std::size_t n) { unwritten_.fetch_sub(n); }
        void mark_ended() { ended_.store(true, std::memory_order_release); }

    private:
        const std::weak_ptr<HttpConnection> connection_;
        const std::uint64_t limit_;
        std::atomic<std::uint64_t> unwritten_{0};
        std::atomic<bool> ended_{false};
    };

    /// Strand: a route's streamed response (Server-Sent Events). The connection is no longer
    /// waiting for a request (it leaves the pending list); it reads only to notice the client
    /// leaving, and ends with the stream.
    void start_stream(protocol::HttpResponse out, unsigned version) {
        deadline_.cancel();
        if (registered_) {
            pending_->remove(position_, listed_);
            registered_ = false;
        }
        stream_ = std::make_unique<ActiveStream>(socket_.get_executor());
        stream_->spec = std::move(*out.stream);
        stream_->writer =
            std::make_shared<StreamWriter>(weak_from_this(), ctx_.config.client_queue_hard_bytes);
        ctx_.metrics.http_streams.add();
        std::string head =
            "HTTP/1." + std::to_string(version % 10) + " " + std::to_string(out.status) + " " +
            std::string(http::obsolete_reason(static_cast<http::status>(out.status))) +
            "\r\nServer: walcast\r\nConnection: close\r\n";
        if (!out.content_type.empty()) head += "Content-Type: " + out.content_type + "\r\n";
        for (const auto& [name, value] : out.headers)
            head += name + ": " + value + "\r\n";
        head += "\r\n";
        head += out.body;
        stream_push(std::move(head), false);
        stream_->state = stream_->spec.open(stream_->writer);
        if (!stream_) return; // ended during open
        read_until_closed();
        arm_heartbeat();
        if (stream_->spec.end_at) {
            stream_->end_timer.expires_at(*stream_->spec.end_at);
            stream_->end_timer.async_wait(
                [self = shared_from_this()](const boost::system::error_code& ec) {
                    if (ec || !self->stream_) return;
                    self->stream_->writer->mark_ended();
                    self->stream_push(std::move(self->stream_->spec.end_bytes));
                    self->stream_drain_then_close();
                });
        }
    }

    /// Strand: queues bytes of the stream (counted = they were counted by the writer).
    void stream_push(std::string bytes, bool counted = true) {
        if (!stream_ || stream_->closing) {
            if (stream_ && counted) stream_->writer->written(bytes.size());
            return;
        }
        stream_->last_write = std::chrono::steady_clock::now();
        stream_->queue.push_back({std::move(bytes), counted});
        if (!stream_->writing) write_next();
    }

    void write_next() {
        if (!stream_) return;
        if (stream_->queue.empty()) {
            stream_->writing = false;
            if (stream_->closing) end_stream(false);
            return;
        }
        stream_->writing = true;
        auto& front = stream_->queue.front();
        asio::async_write(socket_, asio::buffer(front.bytes),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (!self->stream_) return;
                              auto& done = self->stream_->queue.front();
                              if (done.counted) self->stream_->writer->written(done.bytes.size());
                              self->stream_->queue.pop_front();
                              if (ec) return self->end_stream(false);
                              self->write_next();
                          });
    }

    /// Strand: ends after what is queued.
    void stream_drain_then_close() {
        if (!stream_) return;
        stream_->closing = true;
        if (!stream_->writing) end_stream(false);
    }

    /// Strand: ends the stream now and closes the connection; releases the producer's state.
    void end_stream(bool slow) {
        if (!stream_) return;
        if (slow) {
            ctx_.metrics.slow_disconnects.inc();
            log::info("ending a streamed response: the client left more than "
                      "CLIENT_QUEUE_HARD_BYTES ({}) unread",
                      ctx_.config.client_queue_hard_bytes);
        }
        auto stream = std::move(stream_); // releases the producer's state below, not re-entered
        stream->writer->mark_ended();
        stream->heartbeat_timer.cancel();
        stream->end_timer.cancel();
        ctx_.metrics.http_streams.sub();
        close();
        stream->state.reset();
    }

    /// Strand: reads (and drops) whatever the client sends, to notice it closing.
    void read_until_closed() {
        socket_.async_read_some(asio::buffer(stream_->discard),
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (!self->stream_) return;
                                    if (ec) return self->end_stream(false);
                                    self->read_until_closed();
                                });
    }

    void arm_heartbeat() {
        if (stream_->spec.heartbeat.empty()) return;
        stream_->heartbeat_timer.expires_after(stream_->spec.heartbeat_interval);
        stream_->heartbeat_timer.async_wait(
            [self = shared_from_this()](const boost::system::error_code& ec) {
                if (ec || !self->stream_) return;
                if (std::chrono::steady_clock::now() - self->stream_->last_write >=
                    self->stream_->spec.heartbeat_interval)
                    self->stream_push(self->stream_->spec.heartbeat, false);
                self->arm_heartbeat();
            });
    }

    struct ActiveStream {
        explicit ActiveStream(const Socket::executor_type& ex)
            : heartbeat_timer(ex), end_timer(ex) {}
        struct Chunk {
            std::string bytes;
            bool counted;
        };
        protocol::HttpStreamSpec spec;
        std::shared_ptr<StreamWriter> writer;
        std::shared_ptr<void> state; ///< the producer's, released when the stream ends
        std::deque<Chunk> queue;
        bool writing = false;
        bool closing = false;
        std::chrono::steady_clock::time_point last_write{};
        asio::steady_timer heartbeat_timer;
        asio::system_timer end_timer;
        std::array<char, 512> discard{};
    };

    // Refused upgrades wait CONNECT_ERROR_BACKOFF_MS first (spec §1.4).
    void refuse(http::status status, std::string body, unsigned version) {
        ctx_.metrics.connects_refused.inc();
        // Decided before body is moved: argument evaluation order is unspecified.
        std::string content_type = body.empty() ? "" : "application/json";
        auto res = make(status, std::move(content_type), std::move(body), version);
        auto delay = ctx_.config.connect_error_backoff_ms;
        if (delay == 0 || status == http::status::forbidden) return send(std::move(res), false);
        auto timer = std::make_shared<asio::steady_timer>(socket_.get_executor(),
                                                          std::chrono::milliseconds(delay));
        timer->async_wait([self = shared_from_this(), timer,
                           res = std::move(res)](const boost::system::error_code&) mutable {
            self->send(std::move(res), false);
        });
    }

    // A WebSocket upgrade (RFC 6455 §4.2): the generic checks here, then the route's protocol
    // decides (UpgradeDispatcher) and, accepted, the connection gets its protocol session.
    void upgrade(Request req, const boost::urls::url_view& url, const std::string& path) {
        if (!beast::websocket::is_upgrade(req) || req[http::field::sec_websocket_version] != "13" ||
            req[http::field::sec_websocket_key].empty()) {
            return send(make(http::status::bad_request, "application/json",
                             R"J({"error":"expected a WebSocket upgrade (RFC 6455, version 13)"})J",
                             req.version()),
                        false);
        }
        const auto offered = parse_subprotocols(req[http::field::sec_websocket_protocol]);
        const auto route = ctx_.upgrades.match(path, offered);
        if (!route.handler) {
            return send(
                make(http::status::bad_request, "application/json",
                     R"J({"error":"none of the offered WebSocket subprotocols is served here"})J",
                     req.version()),
                false);
        }
        auto params = url.params();
        protocol::UpgradeRequest request;
        request.path = path;
        request.query = [&params](std::string_view name) -> std::optional<std::string> {
            if (auto it = params.find(name); it != params.end() && (*it).has_value)
                return std::string((*it).value);
            return std::nullopt;
        };
        request.header = [&req](std::string_view name) -> std::optional<std::string> {
            if (auto h = req.find(name); h != req.end()) return std::string(h->value());
            return std::nullopt;
        };
        request.each_header = [&req](const auto& visit) {
            for (const auto& h : req)
                visit(std::string_view(h.name_string()), std::string_view(h.value()));
        };
        request.subprotocols = offered;
        auto decision = (*route.handler)(request);
        if (auto* refused = std::get_if<protocol::UpgradeRefuse>(&decision))
            return refuse(static_cast<http::status>(refused->status), std::move(refused->body),
                          req.version());
        auto accepted = std::make_shared<protocol::UpgradeAccept>(
            std::move(std::get<protocol::UpgradeAccept>(decision)));

        auto res = std::make_shared<http::response<http::empty_body>>(
            http::status::switching_protocols, req.version());
        res->set(http::field::upgrade, "websocket");
        res->set(http::field::connection, "Upgrade");
        res->set(http::field::sec_websocket_accept,
                 websocket_accept_key(req[http::field::sec_websocket_key]));
        if (!route.subprotocol.empty())
            res->set(http::field::sec_websocket_protocol, route.subprotocol);
        http::async_write(
            socket_, *res,
            [self = shared_from_this(), res, accepted](beast::error_code ec, std::size_t) {
                if (ec) return self->close();
                self->start_connection(*accepted);
            });
    }

    void start_connection(const protocol::UpgradeAccept& accepted) {
        // Bytes the client sent right after its request are frames.
        auto data = buffer_.data();
        std::string leftover(static_cast<const char*>(data.data()), data.size());
        ConnectionOptions o;
        o.limits.soft_bytes = ctx_.config.client_queue_soft_bytes;
        o.limits.soft_seconds = ctx_.config.client_queue_soft_seconds;
        o.limits.hard_bytes = ctx_.config.client_queue_hard_bytes;
        o.idle_timeout = accepted.idle_timeout;
        o.idle_close_reason = accepted.idle_close_reason;
        o.metrics = {&ctx_.metrics.connections, &ctx_.metrics.messages_delivered,
                     &ctx_.metrics.messages_dropped, &ctx_.metrics.slow_disconnects};
        o.on_teardown = [registry = &ctx_.connections](const WsConnection* c) {
            registry->remove(c);
        };
        auto connection = std::make_shared<WsConnection>(
            WsConnection::socket_type(std::move(socket_)), std::move(o), std::move(leftover));
        connection->start(accepted.make_session);
        ctx_.connections.add(connection);
    }

    Socket socket_;
    ServerContext& ctx_;
    std::shared_ptr<PendingConnections> pending_;
    PendingConnections::List::iterator position_;
    bool registered_ = false; ///< add() was called (strand)
    bool listed_ = false;     ///< in the pending list (PendingConnections' mutex only)
    bool evicted_ = false;    ///< strand
    asio::steady_timer deadline_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    const protocol::HttpRoute* route_ = nullptr; ///< the current request's, if any
    std::unique_ptr<ActiveStream> stream_;       ///< a streamed response in progress (strand)
};

HttpServer::HttpServer(asio::io_context& io, ServerContext& ctx)
    : io_(io), ctx_(ctx), acceptor_(asio::make_strand(io)), sweep_timer_(io),
      accept_backoff_timer_(acceptor_.get_executor()),
      pending_(std::make_shared<PendingConnections>(ctx)),
      tls_failures_(ctx.registry.counter("walcast_tls_handshake_failures_total",
                                         "TLS handshakes that failed (not TLS, or the client "
                                         "refused the certificate)")) {}

Status HttpServer::listen(const std::string& host, std::uint16_t port) {
    if (!ctx_.config.tls_cert_file.empty()) {
        auto context = make_tls_context(ctx_.config.tls_cert_file, ctx_.config.tls_key_file);
        if (!context) return context.error();
        tls_ = std::move(*context);
    }
    boost::system::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) return make_error(Errc::Config, "--host (HOST) \"" + host + "\" is not an IP address");
    tcp::endpoint ep(address, port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        std::string fix = ec == asio::error::address_in_use
                              ? "; another process uses it — set PORT (or --port) to a free port"
                              : "";
        return make_error(Errc::Config, "cannot listen on " + host + ":" + std::to_string(port) +
                                            ": " + ec.message() + fix);
    }
    port_ = acceptor_.local_endpoint().port();
    do_accept();
    schedule_sweep();
    return {};
}

void HttpServer::do_accept() {
    acceptor_.async_accept(
        asio::make_strand(io_), [this](boost::system::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
            if (!ec) {
                exhausted_since_.reset();
                if (!tls_) {
                    std::make_shared<HttpConnection>(Socket(std::move(socket)), ctx_, pending_)
                        ->start();
                    return do_accept();
                }
                // A client that stops reading is given up on as the WebSocket's soft limit does.
                auto plain = start_tls_relay(
                    std::move(socket), *tls_, tls_failures_,
                    std::chrono::seconds(std::max(1u, ctx_.config.client_queue_soft_seconds)));
                if (plain) {
                    std::make_shared<HttpConnection>(std::move(*plain), ctx_, pending_)->start();
                    return do_accept();
                }
                log::warn("closing a TLS connection: {}", plain.error().message);
                return do_accept(); // the TCP socket was closed with its relay's failure
            }
            if (ec == asio::error::no_descriptors || ec.value() == ENFILE ||
                ec == asio::error::no_buffer_space || ec == asio::error::no_memory) {
                // Out of descriptors (or kernel memory): accepting again at once fails again
                // at once — a busy loop that starves the I/O threads. Leave the connection in
                // the listen backlog and retry shortly; existing connections keep being served
                // and free descriptors as they close or time out.
                ctx_.metrics.accept_exhausted.inc();
                const auto now = std::chrono::steady_clock::now();
                if (!exhausted_since_ || now - last_exhausted_log_ >= std::chrono::seconds(10)) {
                    log::warn("cannot accept connections: {} ({} open WebSocket connections, {} "
                              "waiting for their request); retrying every {} ms. Raise the open "
                              "files limit (systemd LimitNOFILE=, ulimit -n) or lower "
                              "MAX_PENDING_CONNECTIONS",
                              ec.message(), ctx_.connections.size(),
                              static_cast<std::int64_t>(ctx_.metrics.http_pending.value()),
                              accept_backoff.count());
                    last_exhausted_log_ = now;
                }
                if (!exhausted_since_) exhausted_since_ = now;
                accept_backoff_timer_.expires_after(accept_backoff);
                accept_backoff_timer_.async_wait([this](const boost::system::error_code& wec) {
                    if (!wec && acceptor_.is_open()) do_accept();
                });
                return;
            }
            do_accept(); // the peer went away before accept (ECONNABORTED, …): next one
        });
}

void HttpServer::schedule_sweep() {
    // Four times a second: token expiry is then reported within 250 ms of exp ("expired 0
    // seconds ago"); the other checks are a few atomic loads per session.
    sweep_timer_.expires_after(std::chrono::milliseconds(250));
    sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        auto now = std::chrono::steady_clock::now();
        auto unix_s = now_unix_us() / 1'000'000;
        ctx_.connections.for_each(
            [&](const std::shared_ptr<WsConnection>& c) { c->sweep(now, unix_s); });
        schedule_sweep();
    });
}

void HttpServer::stop() {
    asio::post(acceptor_.get_executor(), [this] {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        sweep_timer_.cancel();
        accept_backoff_timer_.cancel();
    });
    ctx_.connections.for_each([](const std::shared_ptr<WsConnection>& c) {
        c->close(close_code::going_away, "server shutting down");
    });
}

} // namespace walcast::server
