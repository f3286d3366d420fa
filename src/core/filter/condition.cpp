#include "core/filter/condition.hpp"

#include <array>
#include <utility>

namespace walcast::core {

namespace {

constexpr std::array<std::pair<std::string_view, FilterOp>, 13> op_names{{
    {"eq", FilterOp::Eq},
    {"neq", FilterOp::Neq},
    {"lt", FilterOp::Lt},
    {"lte", FilterOp::Lte},
    {"gt", FilterOp::Gt},
    {"gte", FilterOp::Gte},
    {"in", FilterOp::In},
    {"like", FilterOp::Like},
    {"ilike", FilterOp::Ilike},
    {"is", FilterOp::Is},
    {"match", FilterOp::Match},
    {"imatch", FilterOp::Imatch},
    {"isdistinct", FilterOp::IsDistinct},
}};

} // namespace

std::string_view to_string(FilterOp op) {
    for (const auto& [name, o] : op_names)
        if (o == op) return name;
    return "eq";
}

std::optional<FilterOp> filter_op_from_string(std::string_view text) {
    for (const auto& [name, o] : op_names)
        if (name == text) return o;
    return std::nullopt;
}

} // namespace walcast::core
