#include "core/subscription/payload.hpp"

namespace walcast::core {

ChangePayloads::ChangePayloads(capture::ChangePtr change, std::size_t max_record_bytes)
    : change_(std::move(change)) {
    std::size_t bytes = 0;
    if (change_->new_tuple) bytes += change_->new_tuple->data_bytes();
    if (change_->old_tuple) bytes += change_->old_tuple->data_bytes();
    too_big_ = max_record_bytes > 0 && bytes > max_record_bytes;
}

std::shared_ptr<const std::string> ChangePayloads::get(const PayloadVariant& variant,
                                                       const PayloadFormat& format) {
    std::lock_guard lock(mu_);
    for (const auto& r : rendered_)
        if (r.format == &format && r.variant == variant) return r.data;
    auto data = std::make_shared<const std::string>(format.render(*change_, variant, too_big_));
    rendered_.push_back({variant, &format, data});
    return data;
}

} // namespace walcast::core
