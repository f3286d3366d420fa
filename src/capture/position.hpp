// Position: a point in a capture source's commit order. Opaque to every consumer: only the
// source that made one interprets it (the logical source stores an LSN, the trigger source its
// own order); consumers compare, store and hand positions back, and ask the source to print one.
#pragma once

#include <compare>
#include <cstdint>

namespace walcast::capture {

/// Totally ordered; a later commit has a greater position. value 0 = before everything / none.
struct Position {
    std::uint64_t value = 0;

    constexpr auto operator<=>(const Position&) const = default;
    constexpr bool valid() const { return value != 0; }
};

} // namespace walcast::capture
