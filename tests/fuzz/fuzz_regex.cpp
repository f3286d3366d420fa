// Fuzz target: match/imatch's regular expressions — the ARE → RE2 translation
// (core::pgsem::translate_are) and RE2 compile/search through core::pgsem::Regex. Input: byte 0
// = flags (bit 0 ~*, bit 1 a C ctype, else C.UTF-8), then the pattern, a NUL, the text.
// Properties beyond "no crash":
//  - a refusal is Errc::InvalidInput with a message; what translates either compiles or is
//    refused with a message (never an RE2 failure past compile);
//  - searching is deterministic (the same text twice gives the same answer);
//  - a literal (`***=` + the pattern) always compiles and matches exactly the texts that
//    contain it — under ~* with a C ctype, after ASCII lower-casing both (Postgres folds ASCII
//    only there);
//  - a pattern of ASCII letters and digits translates to itself (case-sensitive).
#include "core/filter/filter_eval.hpp"
#include "fuzz_support.hpp"

#include "common/utf8.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using walcast::Errc;
using walcast::fuzz::check;
namespace pgsem = walcast::core::pgsem;

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return out;
}

bool alnum_only(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return false;
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1 || size > 4096) return 0;
    const bool icase = data[0] & 1;
    const bool ascii = data[0] & 2;
    const std::string ctype = ascii ? "C" : "C.UTF-8";
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    const auto nul = rest.find('\0');
    const std::string_view pattern = rest.substr(0, nul);
    const std::string_view text = nul == std::string_view::npos ? "" : rest.substr(nul + 1);

    auto t = pgsem::translate_are(pattern, icase, ascii);
    if (!t) {
        check(t.error().code == Errc::InvalidInput, "a refused pattern is InvalidInput");
        check(!t.error().message.empty(), "a refusal has a message");
    } else if (!icase && alnum_only(pattern) && !pattern.empty()) {
        check(t->pattern == pattern, "letters and digits translate to themselves");
    }
    auto rx = pgsem::Regex::compile(pattern, icase, ctype);
    if (!rx) {
        check(rx.error().code == Errc::InvalidInput && !rx.error().message.empty(),
              "a pattern walcast cannot match is refused with a message");
    } else {
        const bool a = (*rx)->search(text);
        check(a == (*rx)->search(text), "search is deterministic");
    }

    // Literals (Postgres never holds invalid UTF-8; the literal must be well-formed).
    if (!walcast::utf8::is_valid(pattern) || !walcast::utf8::is_valid(text)) return 0;
    auto lit = pgsem::Regex::compile("***=" + std::string(pattern), icase, ctype);
    check(lit.ok(), "a literal pattern always compiles");
    if (icase && !ascii) return 0; // Unicode folding: no simple reference
    const bool expected = icase ? ascii_lower(text).find(ascii_lower(pattern)) != std::string::npos
                                : text.find(pattern) != std::string_view::npos;
    check((*lit)->search(text) == expected, "a literal matches exactly the texts containing it");
    return 0;
}
