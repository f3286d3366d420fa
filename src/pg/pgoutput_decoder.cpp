#include "pg/pgoutput_decoder.hpp"

#include <cstring>

namespace walcast::pg::pgoutput {

namespace {

// A bounds-checked big-endian reader over one message. On the first failure it records what
// was expected and where; every later read fails too, so callers check once at the end of a
// section (or before using a value that drives a loop or an allocation).
class Reader {
public:
    explicit Reader(std::string_view bytes) : p_(bytes) {}

    bool ok() const { return error_.empty(); }
    std::size_t offset() const { return pos_; }
    std::size_t remaining() const { return p_.size() - pos_; }
    const std::string& error() const { return error_; }

    std::uint8_t u8(const char* what) {
        if (!need(1, what)) return 0;
        return static_cast<std::uint8_t>(p_[pos_++]);
    }
    std::uint16_t u16(const char* what) { return static_cast<std::uint16_t>(be(2, what)); }
    std::uint32_t u32(const char* what) { return static_cast<std::uint32_t>(be(4, what)); }
    std::uint64_t u64(const char* what) { return be(8, what); }
    std::int64_t i64(const char* what) { return static_cast<std::int64_t>(be(8, what)); }

    /// A NUL-terminated string.
    std::string_view cstring(const char* what) {
        if (!ok()) return {};
        const void* nul = std::memchr(p_.data() + pos_, '\0', p_.size() - pos_);
        if (!nul) {
            fail(std::string(what) + " has no terminating NUL");
            return {};
        }
        auto len = static_cast<std::size_t>(static_cast<const char*>(nul) - (p_.data() + pos_));
        std::string_view s = p_.substr(pos_, len);
        pos_ += len + 1;
        return s;
    }

    std::string_view bytes(std::size_t n, const char* what) {
        if (!need(n, what)) return {};
        std::string_view s = p_.substr(pos_, n);
        pos_ += n;
        return s;
    }

    void fail(std::string message) {
        if (ok()) error_ = std::move(message) + " at offset " + std::to_string(pos_);
    }

private:
    bool need(std::size_t n, const char* what) {
        if (!ok()) return false;
        if (p_.size() - pos_ < n) {
            fail(std::string("truncated: ") + what + " needs " + std::to_string(n) + " bytes, " +
                 std::to_string(p_.size() - pos_) + " left");
            return false;
        }
        return true;
    }
    std::uint64_t be(std::size_t n, const char* what) {
        if (!need(n, what)) return 0;
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i)
            v = (v << 8) | static_cast<std::uint8_t>(p_[pos_ + i]);
        pos_ += n;
        return v;
    }

    std::string_view p_;
    std::size_t pos_ = 0;
    std::string error_;
};

// TupleData: Int16 column count, then per column a kind byte and, for 't'/'b', Int32 length and
// that many bytes (PostgreSQL docs, Logical Replication Message Formats, TupleData).
bool read_tuple(Reader& r, Tuple& tuple) {
    std::uint16_t ncols = r.u16("TupleData column count");
    if (!r.ok()) return false;
    // Every column takes at least one byte: a count beyond that is corrupt (and must not drive
    // a large allocation).
    if (ncols > r.remaining()) {
        r.fail("TupleData claims " + std::to_string(ncols) + " columns but only " +
               std::to_string(r.remaining()) + " bytes follow");
        return false;
    }
    tuple.reserve(ncols, r.remaining());
    for (std::uint16_t i = 0; i < ncols; ++i) {
        char kind = static_cast<char>(r.u8("TupleData column kind"));
        if (!r.ok()) return false;
        switch (kind) {
        case 'n':
            tuple.push_null();
            break;
        case 'u':
            tuple.push_unchanged_toast();
            break;
        case 't':
        case 'b': {
            std::uint32_t len = r.u32("TupleData value length");
            std::string_view v = r.bytes(len, "TupleData value");
            if (!r.ok()) return false;
            tuple.push_value(v, kind == 't' ? ValueState::Text : ValueState::Binary);
            break;
        }
        default: {
            static constexpr char hex[] = "0123456789abcdef";
            auto c = static_cast<unsigned char>(kind);
            r.fail(std::string("invalid TupleData column kind 0x") + hex[c >> 4] + hex[c & 15] +
                   " for column " + std::to_string(i));
            return false;
        }
        }
    }
    return true;
}

Lsn lsn(Reader& r, const char* what) {
    return Lsn{r.u64(what)};
}

std::string namespace_of(std::string_view wire) {
    // The wire sends "" for pg_catalog (PostgreSQL docs, Relation message, "Namespace").
    return wire.empty() ? std::string("pg_catalog") : std::string(wire);
}

void decode_into(Reader& r, Begin& m) {
    m.final_lsn = lsn(r, "Begin final LSN");
    m.commit_time_pg_us = r.i64("Begin commit timestamp");
    m.xid = r.u32("Begin xid");
}

void decode_into(Reader& r, Commit& m) {
    m.flags = r.u8("Commit flags");
    m.commit_lsn = lsn(r, "Commit LSN");
    m.end_lsn = lsn(r, "Commit end LSN");
    m.commit_time_pg_us = r.i64("Commit timestamp");
}

void decode_into(Reader& r, Origin& m) {
    m.commit_lsn = lsn(r, "Origin commit LSN");
    m.name = std::string(r.cstring("Origin name"));
}

void decode_into(Reader& r, Relation& m) {
    m.oid = r.u32("Relation OID");
    m.namespace_name = namespace_of(r.cstring("Relation namespace"));
    m.name = std::string(r.cstring("Relation name"));
    m.replica_identity = static_cast<char>(r.u8("Relation replica identity"));
    std::uint16_t ncols = r.u16("Relation column count");
    if (!r.ok()) return;
    if (m.replica_identity != 'd' && m.replica_identity != 'n' && m.replica_identity != 'f' &&
        m.replica_identity != 'i') {
        r.fail("invalid replica identity '" + std::string(1, m.replica_identity) + "'");
        return;
    }
    // A column needs at least 10 bytes (flags, NUL, type OID, type modifier).
    if (ncols > r.remaining() / 10) {
        r.fail("Relation claims " + std::to_string(ncols) + " columns but only " +
               std::to_string(r.remaining()) + " bytes follow");
        return;
    }
    m.columns.resize(ncols);
    for (auto& c : m.columns) {
        c.is_identity_key = (r.u8("Relation column flags") & 1) != 0;
        c.name = std::string(r.cstring("Relation column name"));
        c.type_oid = r.u32("Relation column type OID");
        c.type_modifier = static_cast<std::int32_t>(r.u32("Relation column type modifier"));
        if (!r.ok()) return;
    }
}

void decode_into(Reader& r, Type& m) {
    m.oid = r.u32("Type OID");
    m.namespace_name = namespace_of(r.cstring("Type namespace"));
    m.name = std::string(r.cstring("Type name"));
}

void decode_into(Reader& r, Insert& m) {
    m.relation_oid = r.u32("Insert relation OID");
    char n = static_cast<char>(r.u8("Insert tuple marker"));
    if (!r.ok()) return;
    if (n != 'N') {
        r.fail("expected 'N' before the new tuple");
        return;
    }
    read_tuple(r, m.new_tuple);
}

void decode_into(Reader& r, Update& m) {
    m.relation_oid = r.u32("Update relation OID");
    char marker = static_cast<char>(r.u8("Update tuple marker"));
    if (!r.ok()) return;
    if (marker == 'K' || marker == 'O') {
        m.old_is_full = marker == 'O';
        m.old_tuple.emplace();
        if (!read_tuple(r, *m.old_tuple)) return;
        marker = static_cast<char>(r.u8("Update new tuple marker"));
        if (!r.ok()) return;
    }
    if (marker != 'N') {
        r.fail("expected 'K', 'O' or 'N' in Update");
        return;
    }
    read_tuple(r, m.new_tuple);
}

void decode_into(Reader& r, Delete& m) {
    m.relation_oid = r.u32("Delete relation OID");
    char marker = static_cast<char>(r.u8("Delete tuple marker"));
    if (!r.ok()) return;
    if (marker != 'K' && marker != 'O') {
        r.fail("expected 'K' or 'O' in Delete");
        return;
    }
    m.old_is_full = marker == 'O';
    read_tuple(r, m.old_tuple);
}

void decode_into(Reader& r, Truncate& m) {
    std::uint32_t n = r.u32("Truncate relation count");
    std::uint8_t options = r.u8("Truncate options");
    if (!r.ok()) return;
    m.cascade = (options & 1) != 0;
    m.restart_identity = (options & 2) != 0;
    if (n > r.remaining() / 4) {
        r.fail("Truncate claims " + std::to_string(n) + " relations but only " +
               std::to_string(r.remaining()) + " bytes follow");
        return;
    }
    m.relation_oids.resize(n);
    for (auto& oid : m.relation_oids)
        oid = r.u32("Truncate relation OID");
}

void decode_into(Reader& r, Message& m) {
    m.transactional = (r.u8("Message flags") & 1) != 0;
    m.lsn = lsn(r, "Message LSN");
    m.prefix = std::string(r.cstring("Message prefix"));
    std::uint32_t len = r.u32("Message content length");
    m.content = std::string(r.bytes(len, "Message content"));
}

template <class M> Result<Msg> finish(Reader& r, char type, M&& m) {
    if (r.ok() && r.remaining() != 0)
        r.fail(std::to_string(r.remaining()) + " unexpected trailing bytes");
    if (!r.ok())
        return make_error(Errc::Protocol,
                          "pgoutput " + message_name(type) + " message: " + r.error());
    return Msg(std::forward<M>(m));
}

template <class M> Result<Msg> decode_as(Reader& r, char type) {
    M m;
    decode_into(r, m);
    return finish(r, type, std::move(m));
}

} // namespace

std::string message_name(char type) {
    switch (type) {
    case 'B':
        return "Begin";
    case 'C':
        return "Commit";
    case 'O':
        return "Origin";
    case 'R':
        return "Relation";
    case 'Y':
        return "Type";
    case 'I':
        return "Insert";
    case 'U':
        return "Update";
    case 'D':
        return "Delete";
    case 'T':
        return "Truncate";
    case 'M':
        return "Message";
    case 'S':
        return "Stream Start";
    case 'E':
        return "Stream Stop";
    case 'c':
        return "Stream Commit";
    case 'A':
        return "Stream Abort";
    case 'b':
        return "Begin Prepare";
    case 'P':
        return "Prepare";
    case 'K':
        return "Commit Prepared";
    case 'r':
        return "Rollback Prepared";
    case 'p':
        return "Stream Prepare";
    default: {
        static constexpr char hex[] = "0123456789abcdef";
        auto c = static_cast<unsigned char>(type);
        return std::string("0x") + hex[c >> 4] + hex[c & 15];
    }
    }
}

Result<Msg> decode(std::string_view bytes) {
    if (bytes.empty()) return make_error(Errc::Protocol, "pgoutput: empty message");
    char type = bytes[0];
    Reader r(bytes);
    (void)r.u8("message type");
    switch (type) {
    case 'B':
        return decode_as<Begin>(r, type);
    case 'C':
        return decode_as<Commit>(r, type);
    case 'O':
        return decode_as<Origin>(r, type);
    case 'R':
        return decode_as<Relation>(r, type);
    case 'Y':
        return decode_as<Type>(r, type);
    case 'I':
        return decode_as<Insert>(r, type);
    case 'U':
        return decode_as<Update>(r, type);
    case 'D':
        return decode_as<Delete>(r, type);
    case 'T':
        return decode_as<Truncate>(r, type);
    case 'M':
        return decode_as<Message>(r, type);
    case 'S':
    case 'E':
    case 'c':
    case 'A':
    case 'b':
    case 'P':
    case 'K':
    case 'r':
    case 'p':
        return make_error(Errc::Protocol,
                          "pgoutput " + message_name(type) +
                              " message at offset 0: not supported with proto_version 1 "
                              "(walcast does not request streaming or two-phase)");
    default:
        return make_error(Errc::Protocol,
                          "pgoutput: unknown message type " + message_name(type) + " at offset 0");
    }
}

} // namespace walcast::pg::pgoutput
