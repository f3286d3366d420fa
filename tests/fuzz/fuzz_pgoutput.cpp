// Fuzz target: the pgoutput decoder (pg::pgoutput::decode) on arbitrary XLogData payloads.
// Properties beyond "no crash, no read outside the input" (ASan):
//  - an error is Errc::Protocol and names pgoutput;
//  - an accepted message re-encodes, in the wire format of PostgreSQL docs "Logical Replication
//    Message Formats", to bytes that decode to the same message (encode∘decode is a fixpoint),
//    byte for byte equal to the input for the messages the decoder keeps whole (Begin, Commit,
//    Origin, Insert, Update, Delete) and of the input's length otherwise (an empty namespace
//    reads as "pg_catalog": 10 bytes longer);
//  - the decoder never accepts a message cut short: a strict prefix is an error;
//  - the values of a tuple hold no more bytes than the input (no allocation beyond the input).
#include "fuzz_support.hpp"
#include "pg/pgoutput_decoder.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using walcast::fuzz::check;
using namespace walcast::pg;
using namespace walcast::pg::pgoutput;

// Big-endian writer for the re-encoding.
struct Writer {
    std::string out;
    void u8(std::uint8_t v) { out += static_cast<char>(v); }
    void u16(std::uint16_t v) {
        u8(static_cast<std::uint8_t>(v >> 8));
        u8(static_cast<std::uint8_t>(v));
    }
    void u32(std::uint32_t v) {
        u16(static_cast<std::uint16_t>(v >> 16));
        u16(static_cast<std::uint16_t>(v));
    }
    void u64(std::uint64_t v) {
        u32(static_cast<std::uint32_t>(v >> 32));
        u32(static_cast<std::uint32_t>(v));
    }
    void cstring(std::string_view s) {
        out += s;
        out += '\0';
    }
    void tuple(const Tuple& t, std::size_t input_size) {
        check(t.data_bytes() <= input_size, "tuple holds more bytes than the input");
        u16(static_cast<std::uint16_t>(t.size()));
        for (std::size_t i = 0; i < t.size(); ++i) {
            switch (t.state(i)) {
            case ValueState::Null:
                u8('n');
                break;
            case ValueState::UnchangedToast:
                u8('u');
                break;
            case ValueState::Text:
            case ValueState::Binary:
                u8(t.state(i) == ValueState::Text ? 't' : 'b');
                u32(static_cast<std::uint32_t>(t.text(i).size()));
                out += t.text(i);
                break;
            }
        }
    }
};

// The wire bytes of a decoded message.
std::string encode(const Msg& msg, std::size_t input_size) {
    Writer w;
    std::visit(
        [&](const auto& m) {
            using M = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<M, Begin>) {
                w.u8('B');
                w.u64(m.final_lsn.value);
                w.u64(static_cast<std::uint64_t>(m.commit_time_pg_us));
                w.u32(m.xid);
            } else if constexpr (std::is_same_v<M, Commit>) {
                w.u8('C');
                w.u8(m.flags);
                w.u64(m.commit_lsn.value);
                w.u64(m.end_lsn.value);
                w.u64(static_cast<std::uint64_t>(m.commit_time_pg_us));
            } else if constexpr (std::is_same_v<M, Origin>) {
                w.u8('O');
                w.u64(m.commit_lsn.value);
                w.cstring(m.name);
            } else if constexpr (std::is_same_v<M, Relation>) {
                w.u8('R');
                w.u32(m.oid);
                w.cstring(m.namespace_name);
                w.cstring(m.name);
                w.u8(static_cast<std::uint8_t>(m.replica_identity));
                w.u16(static_cast<std::uint16_t>(m.columns.size()));
                for (const auto& c : m.columns) {
                    w.u8(c.is_identity_key ? 1 : 0);
                    w.cstring(c.name);
                    w.u32(c.type_oid);
                    w.u32(static_cast<std::uint32_t>(c.type_modifier));
                }
            } else if constexpr (std::is_same_v<M, Type>) {
                w.u8('Y');
                w.u32(m.oid);
                w.cstring(m.namespace_name);
                w.cstring(m.name);
            } else if constexpr (std::is_same_v<M, Insert>) {
                w.u8('I');
                w.u32(m.relation_oid);
                w.u8('N');
                w.tuple(m.new_tuple, input_size);
            } else if constexpr (std::is_same_v<M, Update>) {
                w.u8('U');
                w.u32(m.relation_oid);
                if (m.old_tuple) {
                    w.u8(m.old_is_full ? 'O' : 'K');
                    w.tuple(*m.old_tuple, input_size);
                } else {
                    check(!m.old_is_full, "Update without old tuple marked full");
                }
                w.u8('N');
                w.tuple(m.new_tuple, input_size);
            } else if constexpr (std::is_same_v<M, Delete>) {
                w.u8('D');
                w.u32(m.relation_oid);
                w.u8(m.old_is_full ? 'O' : 'K');
                w.tuple(m.old_tuple, input_size);
            } else if constexpr (std::is_same_v<M, Truncate>) {
                w.u8('T');
                w.u32(static_cast<std::uint32_t>(m.relation_oids.size()));
                w.u8(static_cast<std::uint8_t>((m.cascade ? 1 : 0) | (m.restart_identity ? 2 : 0)));
                for (auto oid : m.relation_oids)
                    w.u32(oid);
            } else if constexpr (std::is_same_v<M, Message>) {
                w.u8('M');
                w.u8(m.transactional ? 1 : 0);
                w.u64(m.lsn.value);
                w.cstring(m.prefix);
                w.u32(static_cast<std::uint32_t>(m.content.size()));
                w.out += m.content;
            }
        },
        msg);
    return w.out;
}

const std::string* namespace_of(const Msg& m) {
    if (const auto* r = std::get_if<Relation>(&m)) return &r->namespace_name;
    if (const auto* t = std::get_if<Type>(&m)) return &t->namespace_name;
    return nullptr;
}

bool kept_whole(const Msg& m) {
    return std::holds_alternative<Begin>(m) || std::holds_alternative<Commit>(m) ||
           std::holds_alternative<Origin>(m) || std::holds_alternative<Insert>(m) ||
           std::holds_alternative<Update>(m) || std::holds_alternative<Delete>(m);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    auto decoded = decode(input);
    if (!decoded) {
        check(decoded.error().code == walcast::Errc::Protocol, "error is not Errc::Protocol");
        check(decoded.error().message.find("pgoutput") != std::string::npos,
              "error message does not name pgoutput");
        return 0;
    }
    const Msg& msg = *decoded;
    const std::string again = encode(msg, size);
    auto redecoded = decode(again);
    check(redecoded.ok(), "re-encoded message does not decode");
    check(encode(*redecoded, again.size()) == again, "decode(encode(m)) differs from m");
    if (kept_whole(msg)) {
        check(again == input, "re-encoding differs from the input");
    } else {
        const std::string* ns = namespace_of(msg);
        const bool same_length = again.size() == size;
        const bool empty_namespace = ns && *ns == "pg_catalog" && again.size() == size + 10;
        check(same_length || empty_namespace, "re-encoding has another length than the input");
    }
    // Self-delimiting: no strict prefix is a message.
    check(!decode(input.substr(0, size - 1)).ok(), "input without its last byte decodes");
    if (size > 2) check(!decode(input.substr(0, size / 2)).ok(), "half the input decodes");
    return 0;
}
