#include "protocol/sse/live_stream.hpp"

#include "common/clock.hpp"
#include "common/json_writer.hpp"
#include "common/logging.hpp"
#include "core/identity.hpp"
#include "core/subscription/role_refusal.hpp"
#include "livequery/request_json.hpp"

#include <boost/json/parse.hpp>

#include <mutex>

namespace walcast::protocol::sse {

namespace {

constexpr std::string_view known_parameters =
    "name, sql, params, throttle_ms, key, full, refresh, apikey";

Error bad(std::string what) {
    return make_error(Errc::InvalidInput, std::move(what));
}

HttpResponse message(unsigned status, std::string_view text) {
    HttpResponse r;
    r.status = status;
    r.content_type = "application/json";
    r.body = "{\"message\":";
    json::append_string(r.body, text);
    r.body += '}';
    return r;
}

/// Every response: CORS, so that a page of another origin can open an EventSource here (the
/// token travels as apikey, never as a cookie: `*` is enough).
std::function<void(HttpResponse)> with_cors(std::function<void(HttpResponse)> respond) {
    return [respond = std::move(respond)](HttpResponse r) {
        r.headers.emplace_back("Access-Control-Allow-Origin", "*");
        respond(std::move(r));
    };
}

unsigned status_of(const Error& e) {
    switch (e.code) {
    case Errc::InvalidInput:
    case Errc::Protocol:
        return 400;
    case Errc::NotFound:
        return 404;
    case Errc::PermissionDenied:
        return 403;
    case Errc::Unavailable:
    case Errc::Timeout:
        return 503;
    default:
        return 500;
    }
}

/// A JSON value of a query parameter, or the error naming it.
Result<boost::json::value> json_parameter(std::string_view name, const std::string& text,
                                          std::string_view example) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec)
        return bad("live_query: " + std::string(name) + " is not JSON (" + ec.message() +
                   "); e.g. " + std::string(name) + "=" + std::string(example) +
                   " (percent-encoded)");
    return v;
}

/// A stream's pushes: held until the stream opens (the engine may push the first result
/// before the response head is written), then written as Server-Sent Events.
class StreamSink final : public livequery::Sink {
public:
    void on_update(const livequery::Update& u) override {
        std::string data;
        livequery::append_update_json(data, u);
        send(sse_event(u.diff ? "diff" : "result", u.position_text, data));
    }
    void on_error(const livequery::LiveError& e) override {
        std::string data;
        livequery::append_error_json(data, e);
        send(sse_event("error", "", data));
    }
    /// The stream's strand: from now on events are written to it.
    void attach(std::shared_ptr<HttpStream> stream) {
        std::lock_guard lock(mu_);
        stream_ = std::move(stream);
        for (auto& e : held_)
            stream_->write(std::move(e));
        held_.clear();
    }

private:
    void send(std::string event) {
        std::lock_guard lock(mu_);
        if (stream_)
            stream_->write(std::move(event)); // false: ended; the state goes with the stream
        else
            held_.push_back(std::move(event));
    }

    std::mutex mu_;
    std::shared_ptr<HttpStream> stream_;
    std::vector<std::string> held_;
};

/// What a stream keeps while it is open: releasing it unsubscribes and frees the slot.
struct StreamState {
    explicit StreamState(std::shared_ptr<std::atomic<std::uint32_t>> open)
        : open(std::move(open)) {}
    ~StreamState() { open->fetch_sub(1); }
    StreamState(const StreamState&) = delete;
    StreamState& operator=(const StreamState&) = delete;

    std::shared_ptr<std::atomic<std::uint32_t>> open;
    std::shared_ptr<StreamSink> sink = std::make_shared<StreamSink>();
    livequery::SubscriptionPtr subscription;
};

} // namespace

std::string sse_event(std::string_view event, std::string_view id, std::string_view data) {
    std::string out;
    out.reserve(event.size() + id.size() + data.size() + 24);
    out += "event: ";
    out += event;
    out += '\n';
    if (!id.empty()) {
        out += "id: ";
        out += id;
        out += '\n';
    }
    out += "data: ";
    out += data;
    out += "\n\n";
    return out;
}

Result<livequery::Request>
parse_stream_request(const std::vector<std::pair<std::string, std::string>>& query) {
    boost::json::object o;
    for (const auto& [name, value] : query) {
        if (name == "apikey") continue;
        if (o.contains(name))
            return bad("live_query: the parameter " + name + " is given twice; give it once");
        if (name == "name" || name == "sql") {
            o[name] = value;
        } else if (name == "params") {
            auto v = json_parameter(name, value, "[42,\"x\",null]");
            if (!v) return v.error();
            o[name] = std::move(*v);
        } else if (name == "refresh") {
            auto v = json_parameter(name, value, "{\"items\":\"order_id=eq.:result/id\"}");
            if (!v) return v.error();
            o[name] = std::move(*v);
        } else if (name == "throttle_ms") {
            auto v = json_parameter(name, value, "100");
            if (!v) return v.error();
            o[name] = std::move(*v);
        } else if (name == "key") {
            if (value.starts_with('[')) {
                auto v = json_parameter(name, value, "[\"id\",\"line\"]");
                if (!v) return v.error();
                o[name] = std::move(*v);
            } else {
                boost::json::array columns;
                std::string_view rest = value;
                while (true) {
                    const auto comma = rest.find(',');
                    columns.emplace_back(rest.substr(0, comma));
                    if (comma == std::string_view::npos) break;
                    rest.remove_prefix(comma + 1);
                }
                o[name] = std::move(columns);
            }
        } else if (name == "full") {
            if (value == "true" || value == "1" || value.empty())
                o[name] = true;
            else if (value == "false" || value == "0")
                o[name] = false;
            else
                return bad("live_query: full must be true or false");
        } else {
            return bad("live_query: unknown parameter '" + name +
                       "' (known: " + std::string(known_parameters) + ")");
        }
    }
    return livequery::parse_request(o);
}

LiveStreams::LiveStreams(const auth::JwtVerifier& verifier,
                         core::SubscriptionService& subscriptions, livequery::Engine& engine,
                         LiveStreamOptions options, MetricsRegistry& registry)
    : verifier_(verifier), subscriptions_(subscriptions), engine_(engine), options_(options),
      open_(std::make_shared<std::atomic<std::uint32_t>>(0)),
      refused_(registry.counter("walcast_live_sse_refused_total",
                                "GET /live/v1 requests answered with an error instead of a "
                                "stream")) {}

HttpRoute LiveStreams::route() {
    return HttpRoute{"/live/v1", 0,
                     [this](const HttpRequest& r, auto respond) { handle(r, std::move(respond)); }};
}

void LiveStreams::handle(const HttpRequest& req, std::function<void(HttpResponse)> respond) {
    respond = with_cors(std::move(respond));
    if (req.method == "OPTIONS") {
        HttpResponse r;
        r.status = 204;
        r.headers = {{"Access-Control-Allow-Methods", "GET, OPTIONS"},
                     {"Access-Control-Allow-Headers", "apikey, authorization, last-event-id"}};
        return respond(std::move(r));
    }
    auto refuse = [this, &respond](unsigned status, std::string_view text) {
        refused_.inc();
        respond(message(status, text));
    };
    if (req.path != "/live/v1")
        return refuse(404, "not found: a live query streams from GET /live/v1?name=…");
    if (req.method != "GET")
        return refuse(405, "only GET is served on /live/v1 (an EventSource, or curl -N)");
    auto request = parse_stream_request(req.query_params);
    if (!request) return refuse(400, request.error().message);

    auto token = request_token(req);
    if (!token) token = req.query("apikey");
    if (!token || token->empty())
        return refuse(401, "no token: send Authorization: Bearer <jwt>, or ?apikey=<jwt> from an "
                           "EventSource");
    auto verified = verifier_.verify(*token, now_unix_us() / 1'000'000);
    if (!verified) return refuse(401, verified.failure().to_error().message);
    const auth::Claims& claims = verified.claims();

    if (open_->fetch_add(1) >= options_.max_streams) {
        open_->fetch_sub(1);
        return refuse(503, "LIVE_SSE_MAX_STREAMS (" + std::to_string(options_.max_streams) +
                               ") live query streams are open; retry later, or raise "
                               "LIVE_SSE_MAX_STREAMS");
    }
    auto state = std::make_shared<StreamState>(open_); // from here the slot is the state's
    request->identity = core::identity_of(claims);
    std::optional<std::chrono::system_clock::time_point> end_at;
    if (claims.exp > 0)
        end_at = std::chrono::system_clock::time_point(std::chrono::seconds(claims.exp));

    const std::string role = request->identity->role;
    subscriptions_.check_role(
        reinterpret_cast<std::uintptr_t>(state.get()), {}, role,
        [this, state, end_at, request = std::move(request).value(),
         respond](std::optional<core::SubscribeError> e) mutable {
            if (e) {
                refused_.inc();
                return respond(message(403, "live_query: " + core::describe_role_refusal(*e)));
            }
            engine_.subscribe(
                std::move(request), state->sink,
                [this, state, end_at, respond](Result<livequery::SubscriptionPtr> r) mutable {
                    if (!r) {
                        refused_.inc();
                        return respond(message(status_of(r.error()), r.error().message));
                    }
                    state->subscription = std::move(r).value();
                    HttpResponse res;
                    res.content_type = "text/event-stream; charset=utf-8";
                    res.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
                    // EventSource's reconnection delay after the stream ends (it then
                    // subscribes again: a new first result).
                    res.body = "retry: 2000\n\n";
                    HttpStreamSpec spec;
                    spec.heartbeat = ":\n\n";
                    spec.heartbeat_interval = options_.heartbeat;
                    spec.end_at = end_at;
                    std::string data;
                    livequery::append_error_json(
                        data, {"token_expired", "the token expired; connect again with a fresh "
                                                "token"});
                    spec.end_bytes = sse_event("error", "", data);
                    spec.open = [state](std::shared_ptr<HttpStream> stream) {
                        state->sink->attach(std::move(stream));
                        return std::shared_ptr<void>(state);
                    };
                    res.stream = std::move(spec);
                    respond(std::move(res));
                });
        });
}

} // namespace walcast::protocol::sse
