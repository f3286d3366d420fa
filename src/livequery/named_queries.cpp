#include "livequery/named_queries.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

namespace walcast::livequery {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

bool valid_name(std::string_view n) {
    if (n.empty()) return false;
    for (char c : n)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    return true;
}

} // namespace

Result<NamedQuery> NamedQueries::parse(std::string_view text) {
    NamedQuery q;
    q.sql = std::string(text);
    std::size_t pos = 0;
    int line_no = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = trim(text.substr(pos, end - pos));
        pos = end + 1;
        ++line_no;
        if (line.empty()) continue;
        if (!line.starts_with("--")) break; // directives only before the SQL
        line = trim(line.substr(2));
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue; // an ordinary comment
        const auto directive = trim(line.substr(0, colon));
        const auto value = trim(line.substr(colon + 1));
        const std::string where = "line " + std::to_string(line_no) + ": ";
        if (directive == "key") {
            std::size_t p = 0;
            while (p <= value.size()) {
                auto comma = value.find(',', p);
                if (comma == std::string_view::npos) comma = value.size();
                auto col = trim(value.substr(p, comma - p));
                if (col.empty())
                    return make_error(Errc::Config, where + "-- key: lists column names separated "
                                                            "by commas, e.g. -- key: id");
                q.key.emplace_back(col);
                p = comma + 1;
            }
        } else if (directive == "throttle_ms") {
            std::uint32_t ms = 0;
            auto [e, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
            if (ec != std::errc() || e != value.data() + value.size())
                return make_error(Errc::Config,
                                  where + "-- throttle_ms: takes milliseconds (0 or more)");
            q.throttle_ms = ms;
        } else if (directive == "refresh") {
            auto space = value.find_first_of(" \t");
            const auto table = value.substr(0, space);
            const auto filter =
                space == std::string_view::npos ? std::string_view{} : trim(value.substr(space));
            if (table.empty() || filter.empty())
                return make_error(Errc::Config,
                                  where + "-- refresh: takes a table and a condition, e.g. "
                                          "-- refresh: items order_id=eq.:result/id");
            q.refresh.push_back({std::string(table), std::string(filter)});
        }
    }
    return q;
}

Result<NamedQueries> NamedQueries::load(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        return make_error(Errc::Config, "LIVE_QUERIES_DIR (" + dir.string() +
                                            ") is not a directory; point it at the directory of "
                                            "named live queries (<name>.sql files)");
    NamedQueries out;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (!entry.is_regular_file() || entry.path().extension() != ".sql") continue;
        const std::string name = entry.path().stem().string();
        if (!valid_name(name))
            return make_error(Errc::Config, "LIVE_QUERIES_DIR: " + entry.path().string() +
                                                ": a query name has letters, digits, _ and - "
                                                "only; rename the file");
        std::ifstream in(entry.path(), std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        if (!in && !in.eof())
            return make_error(Errc::Config,
                              "LIVE_QUERIES_DIR: cannot read " + entry.path().string());
        auto q = parse(text.str());
        if (!q)
            return make_error(Errc::Config, "LIVE_QUERIES_DIR: " + entry.path().string() + " " +
                                                q.error().message);
        out.queries_.emplace(name, std::move(q).value());
    }
    if (ec)
        return make_error(Errc::Config, "LIVE_QUERIES_DIR (" + dir.string() + "): " + ec.message());
    return out;
}

const NamedQuery* NamedQueries::find(std::string_view name) const {
    auto it = queries_.find(name);
    return it == queries_.end() ? nullptr : &it->second;
}

} // namespace walcast::livequery
