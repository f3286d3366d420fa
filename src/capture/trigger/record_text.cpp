#include "capture/trigger/record_text.hpp"

namespace walcast::capture::trigger {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

Error malformed(std::string what, std::size_t pos) {
    return make_error(Errc::InvalidInput,
                      "malformed record text: " + what + " at byte " + std::to_string(pos));
}

} // namespace

Result<bool> RecordReader::next(std::optional<std::string_view>& value) {
    if (finished_) return false;
    if (!started_) {
        while (pos_ < text_.size() && is_space(text_[pos_]))
            ++pos_;
        if (pos_ >= text_.size() || text_[pos_] != '(') return malformed("missing \"(\"", pos_);
        ++pos_;
        started_ = true;
        // "()" is a record without columns.
        if (pos_ < text_.size() && text_[pos_] == ')') {
            ++pos_;
            finished_ = true;
            while (pos_ < text_.size() && is_space(text_[pos_]))
                ++pos_;
            if (pos_ != text_.size()) return malformed("junk after \")\"", pos_);
            return false;
        }
    }
    if (pos_ >= text_.size()) return malformed("unexpected end of input", pos_);

    const char first = text_[pos_];
    if (first == ',' || first == ')') {
        value.reset(); // empty unquoted field: NULL
    } else {
        // Scan once: a field without quotes or backslashes is returned as a view.
        const std::size_t start = pos_;
        bool plain = true;
        std::size_t end = pos_;
        while (end < text_.size() && text_[end] != ',' && text_[end] != ')') {
            if (text_[end] == '"' || text_[end] == '\\') {
                plain = false;
                break;
            }
            ++end;
        }
        if (plain) {
            if (end >= text_.size()) return malformed("unexpected end of input", end);
            value = text_.substr(start, end - start);
            pos_ = end;
        } else {
            scratch_.clear();
            bool in_quotes = false;
            while (true) {
                if (pos_ >= text_.size()) return malformed("unexpected end of input", pos_);
                const char c = text_[pos_];
                if (!in_quotes && (c == ',' || c == ')')) break;
                ++pos_;
                if (c == '\\') {
                    if (pos_ >= text_.size()) return malformed("unexpected end of input", pos_);
                    scratch_ += text_[pos_++];
                } else if (c == '"') {
                    if (!in_quotes) {
                        in_quotes = true;
                    } else if (pos_ < text_.size() && text_[pos_] == '"') {
                        scratch_ += '"';
                        ++pos_;
                    } else {
                        in_quotes = false;
                    }
                } else {
                    scratch_ += c;
                }
            }
            value = std::string_view(scratch_);
        }
    }
    ++count_;
    // pos_ is at the separator.
    if (text_[pos_] == ',') {
        ++pos_;
        return true;
    }
    ++pos_; // ')'
    finished_ = true;
    while (pos_ < text_.size() && is_space(text_[pos_]))
        ++pos_;
    if (pos_ != text_.size()) return malformed("junk after \")\"", pos_);
    return true;
}

} // namespace walcast::capture::trigger
