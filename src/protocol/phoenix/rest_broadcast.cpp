#include "protocol/phoenix/rest_broadcast.hpp"

#include "common/clock.hpp"
#include "common/json_writer.hpp"
#include "common/logging.hpp"
#include "protocol/phoenix/broadcast_frames.hpp"
#include "protocol/phoenix/channel_permissions.hpp"
#include "protocol/phoenix/encoder.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <cctype>
#include <map>
#include <mutex>

namespace walcast::protocol::phoenix {

namespace {

/// Private topics one batch may name (each costs a write check on the shared pool).
constexpr std::size_t max_private_topics = 100;

HttpResponse respond_json(unsigned status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.content_type = "application/json";
    r.body = std::move(body);
    return r;
}

HttpResponse message(unsigned status, std::string_view text) {
    std::string body = "{\"message\":";
    json::append_string(body, text);
    body += '}';
    return respond_json(status, std::move(body));
}

HttpResponse accepted() {
    HttpResponse r;
    r.status = 202;
    return r;
}

/// Every response: CORS for browsers calling walcast directly (spec §7.5.1).
std::function<void(HttpResponse)> with_cors(std::function<void(HttpResponse)> respond) {
    return [respond = std::move(respond)](HttpResponse r) {
        r.headers.emplace_back("Access-Control-Allow-Origin", "*");
        respond(std::move(r));
    };
}

std::string lower(std::string s) {
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

/// The private topic's write check question: the token's claims and, as request.headers,
/// every header of the request (spec §7.3.2, §7.5.2).
broadcast::TopicAuthContext auth_context(const auth::Claims& claims, std::string topic,
                                         const std::string& headers_json) {
    broadcast::TopicAuthContext ctx;
    ctx.topic = std::move(topic);
    ctx.role = claims.role;
    ctx.claims_json = claims.json;
    ctx.sub = claims.sub;
    ctx.headers_json = headers_json;
    return ctx;
}

/// A JSON broadcast (batch endpoint): a text frame for both serializers (spec §7.5.3).
void publish_json(broadcast::Hub& hub, broadcast::RateCounter& events, const std::string& topic,
                  bool is_private, const std::string& event, const std::string& payload,
                  const std::optional<std::string>& id) {
    const std::string channel_topic = "realtime:" + topic;
    std::string meta;
    if (id) {
        meta = "{\"id\":";
        json::append_string(meta, *id);
        meta += '}';
    }
    const std::string envelope = broadcast_envelope(event, meta, payload);
    broadcast::Message msg([&](std::size_t format) -> std::optional<broadcast::Frame> {
        return push_frame(format, channel_topic, event::broadcast, envelope);
    });
    msg.kind = kind_broadcast;
    msg.rate = &events;
    events.add(1);
    hub.publish(BroadcastFeatureFactory::hub_topic(channel_topic, is_private), msg, nullptr);
}

/// A user broadcast (single endpoint): kind 4 without metadata for 2.0.0, the JSON envelope
/// for 1.0.0 (binary payloads not), spec §7.5.4.
void publish_user(broadcast::Hub& hub, broadcast::RateCounter& events, const std::string& topic,
                  bool is_private, const std::string& event, PayloadEncoding encoding,
                  const std::string& payload) {
    const std::string channel_topic = "realtime:" + topic;
    broadcast::Message msg([&](std::size_t format) {
        return user_broadcast_frame(format, channel_topic, event, "", encoding, payload);
    });
    msg.kind = kind_broadcast;
    msg.rate = &events;
    events.add(1);
    hub.publish(BroadcastFeatureFactory::hub_topic(channel_topic, is_private), msg, nullptr);
}

/// One batch message, validated.
struct BatchMessage {
    std::string topic, event, payload;
    bool is_private = false;
    std::optional<std::string> id;
};

} // namespace

RestBroadcast::RestBroadcast(const auth::JwtVerifier& verifier, broadcast::Hub& hub,
                             broadcast::TopicPolicies* policies, broadcast::RateCounter& events,
                             BroadcastLimits limits, MetricsRegistry& registry)
    : verifier_(verifier), hub_(hub), policies_(policies), events_(events), limits_(limits),
      accepted_(registry.counter("walcast_rest_broadcasts_total",
                                 "messages accepted by the REST broadcast endpoints")) {}

std::vector<HttpRoute> RestBroadcast::routes() {
    auto handler = [this](const HttpRequest& r, std::function<void(HttpResponse)> respond) {
        handle(r, std::move(respond));
    };
    return {HttpRoute{"/api/broadcast", rest_max_body_bytes, handler},
            HttpRoute{"/realtime/v1/api/broadcast", rest_max_body_bytes, handler}};
}

void RestBroadcast::handle(const HttpRequest& req, std::function<void(HttpResponse)> respond) {
    respond = with_cors(std::move(respond));
    if (req.method == "OPTIONS") {
        HttpResponse r;
        r.status = 204;
        r.headers = {
            {"Access-Control-Allow-Methods", "POST, OPTIONS"},
            {"Access-Control-Allow-Headers", "apikey, authorization, content-type, x-client-info"},
            {"Access-Control-Max-Age", "86400"}};
        return respond(std::move(r));
    }
    // The segments after "broadcast": none (batch) or <topic>/events/<event> (single).
    std::size_t i = 0;
    while (i < req.segments.size() && req.segments[i] != "broadcast")
        ++i;
    const std::vector<std::string> rest(req.segments.begin() + std::min(i + 1, req.segments.size()),
                                        req.segments.end());
    const bool is_batch = rest.empty();
    const bool is_single = rest.size() == 3 && rest[1] == "events" && !rest[0].empty();
    if (!is_batch && !is_single)
        return respond(message(404, "not found: POST /api/broadcast or "
                                    "/api/broadcast/<topic>/events/<event>"));
    if (req.method != "POST")
        return respond(message(405, "only POST is served on the broadcast endpoints"));
    auto token = request_token(req);
    if (!token) return respond(message(401, "Unauthorized"));
    auto verified = verifier_.verify(*token, now_unix_us() / 1'000'000);
    if (!verified) {
        log::info("refusing a REST broadcast: {}", verified.failure().to_error().message);
        return respond(message(401, "Unauthorized"));
    }
    const auth::Claims& claims = verified.claims();
    if (is_batch) return batch(claims, req, std::move(respond));
    single(claims, req, rest[0], rest[2], std::move(respond));
}

void RestBroadcast::batch(const auth::Claims& claims, const HttpRequest& req,
                          std::function<void(HttpResponse)> respond) {
    boost::system::error_code ec;
    auto body = boost::json::parse(req.body, ec);
    const boost::json::array* list = nullptr;
    if (!ec && body.is_object())
        if (const auto* m = body.get_object().if_contains("messages"); m && m->is_array())
            list = &m->get_array();
    if (!list || list->empty())
        return respond(respond_json(422, R"({"errors":{"messages":["can't be blank"]}})"));

    // Validation per message (spec §7.5.3): one object of field errors each, {} when valid.
    std::vector<BatchMessage> messages;
    std::string errors = "{\"errors\":{\"messages\":[";
    bool invalid = false;
    for (std::size_t n = 0; n < list->size(); ++n) {
        if (n) errors += ',';
        std::map<std::string, std::string> field_errors;
        BatchMessage bm;
        const auto* obj = (*list)[n].if_object();
        auto string_field = [&](const char* name, std::string& out) {
            const auto* v = obj ? obj->if_contains(name) : nullptr;
            if (!v || v->is_null() || (v->is_string() && v->get_string().empty()))
                field_errors[name] = "can't be blank";
            else if (!v->is_string())
                field_errors[name] = "is invalid";
            else
                out = std::string(v->get_string());
        };
        string_field("topic", bm.topic);
        string_field("event", bm.event);
        const auto* payload = obj ? obj->if_contains("payload") : nullptr;
        if (!payload || payload->is_null()) {
            field_errors["payload"] = "can't be blank";
        } else if (!payload->is_object()) {
            field_errors["payload"] = "is invalid";
        } else {
            bm.payload = boost::json::serialize(*payload);
            if (bm.payload.size() > limits_.max_payload_bytes)
                field_errors["payload"] = "Payload size exceeds tenant limit";
        }
        if (const auto* p = obj ? obj->if_contains("private") : nullptr; p && !p->is_null()) {
            if (p->is_bool())
                bm.is_private = p->get_bool();
            else
                field_errors["private"] = "is invalid";
        }
        if (const auto* id = obj ? obj->if_contains("id") : nullptr; id && id->is_string())
            bm.id = std::string(id->get_string());
        errors += '{';
        bool first = true;
        for (const auto& [field, text] : field_errors) {
            if (!first) errors += ',';
            first = false;
            json::append_string(errors, field);
            errors += ":[";
            json::append_string(errors, text);
            errors += ']';
        }
        errors += '}';
        if (!field_errors.empty()) invalid = true;
        messages.push_back(std::move(bm));
    }
    errors += "]}}";
    if (invalid) return respond(respond_json(422, std::move(errors)));

    // The tenant's rate (spec §7.5.5): over it, or over it with this batch on top.
    if (events_.limit() > 0) {
        if (events_.average() > events_.limit())
            return respond(message(429, "You have exceeded your rate limit"));
        if (events_.would_exceed(messages.size()))
            return respond(
                message(429, "Too many messages to broadcast, please reduce the batch size"));
    }

    // Public messages now; private ones per topic after that topic's write check — one check
    // per topic on the pool every private channel shares, so a batch may name at most a
    // hundred private topics.
    std::map<std::string, std::vector<std::size_t>> private_topics; ///< topic → indices
    for (std::size_t n = 0; n < messages.size(); ++n)
        if (messages[n].is_private) private_topics[messages[n].topic].push_back(n);
    if (private_topics.size() > max_private_topics)
        return respond(respond_json(
            422,
            R"({"errors":{"messages":["has more than 100 private topics; split the batch"]}})"));
    for (const auto& m : messages) {
        if (m.is_private) continue;
        publish_json(hub_, events_, m.topic, false, m.event, m.payload, m.id);
        accepted_.inc();
    }
    if (private_topics.empty() || !policies_) {
        if (!private_topics.empty())
            log::info("REST broadcast: private messages skipped, no database to check with");
        return respond(accepted());
    }
    struct Pending {
        std::vector<BatchMessage> messages;
        std::function<void(HttpResponse)> respond;
        std::atomic<std::size_t> left;
    };
    const std::string headers = request_headers_json(req.each_header, false);
    auto pending = std::make_shared<Pending>();
    pending->messages = std::move(messages);
    pending->respond = std::move(respond);
    pending->left = private_topics.size();
    for (const auto& [topic, indices] : private_topics) {
        policies_->check_write(
            auth_context(claims, topic, headers),
            [this, pending, indices, topic](broadcast::PolicyOutcome<broadcast::WriteVerdict> out) {
                if (out.verdict && out.verdict->broadcast) {
                    for (auto i : indices) {
                        const auto& m = pending->messages[i];
                        publish_json(hub_, events_, m.topic, true, m.event, m.payload, m.id);
                        accepted_.inc();
                    }
                } else if (!out.verdict) {
                    log::info("REST broadcast to private topic {}: the write check failed: {}",
                              topic, out.error);
                }
                if (pending->left.fetch_sub(1) == 1) pending->respond(accepted());
            });
    }
}

void RestBroadcast::single(const auth::Claims& claims, const HttpRequest& req,
                           const std::string& topic, const std::string& event,
                           std::function<void(HttpResponse)> respond) {
    // Content type (spec §7.5.4): JSON (a non-object wrapped as {"_json": …}, empty = {}),
    // octet-stream (bytes), none (payload {}); anything else 415.
    std::string type = lower(req.header("content-type").value_or(""));
    if (auto semi = type.find(';'); semi != std::string::npos) type.resize(semi);
    while (!type.empty() && type.back() == ' ')
        type.pop_back();
    PayloadEncoding encoding = PayloadEncoding::Json;
    std::string payload;
    if (type == "application/json") {
        if (req.body.empty()) {
            payload = "{}";
        } else {
            boost::system::error_code ec;
            auto v = boost::json::parse(req.body, ec);
            if (ec)
                return respond(message(400, "the body is not valid JSON (" + ec.message() +
                                                "); send a JSON value or use "
                                                "Content-Type: application/octet-stream"));
            if (v.is_object()) {
                payload = boost::json::serialize(v);
            } else {
                boost::json::object wrapped;
                wrapped["_json"] = std::move(v);
                payload = boost::json::serialize(wrapped);
            }
        }
    } else if (type == "application/octet-stream") {
        encoding = PayloadEncoding::Binary;
        payload = req.body;
    } else if (type.empty()) {
        payload = "{}";
    } else {
        return respond(respond_json(
            415,
            R"({"error":"Unsupported Media Type. Use application/json or application/octet-stream"})"));
    }
    if (payload.size() > limits_.max_payload_bytes)
        return respond(message(422, "Payload size exceeds tenant limit"));
    if (events_.limit() > 0 && events_.average() >= events_.limit())
        return respond(message(429, "You have exceeded your rate limit"));
    const bool is_private = req.query("private").value_or("") == "true";
    if (!is_private) {
        publish_user(hub_, events_, topic, false, event, encoding, payload);
        accepted_.inc();
        return respond(accepted());
    }
    if (!policies_) return respond(message(422, "Tenant database unavailable"));
    policies_->check_write(
        auth_context(claims, topic, request_headers_json(req.each_header, false)),
        [this, topic, event, encoding, payload = std::move(payload),
         respond = std::move(respond)](broadcast::PolicyOutcome<broadcast::WriteVerdict> out) {
            if (out.verdict) {
                if (!out.verdict->broadcast) return respond(message(403, "Unauthorized"));
                publish_user(hub_, events_, topic, true, event, encoding, payload);
                accepted_.inc();
                return respond(accepted());
            }
            log::info("REST broadcast to private topic {}: the write check failed: {}", topic,
                      out.error);
            switch (out.failure) {
            case broadcast::PolicyFailure::RlsError:
                return respond(message(422, "RLS policy error"));
            case broadcast::PolicyFailure::MissingPartition:
                return respond(message(422, "Missing messages partition"));
            case broadcast::PolicyFailure::Unavailable:
                return respond(message(422, "Tenant database unavailable"));
            case broadcast::PolicyFailure::PoolExhausted:
                return respond(message(429, "Connection pool exhausted"));
            case broadcast::PolicyFailure::Cancelled:
                break;
            }
            respond(message(500, "Unable to authorize broadcast"));
        });
}

} // namespace walcast::protocol::phoenix
