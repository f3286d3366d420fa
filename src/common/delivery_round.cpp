#include "common/delivery_round.hpp"

namespace walcast {

void DeliveryRound::close() {
    // Members may be appended to (and so re-join) while earlier ones flush: flush the set as
    // of now, keep the storage of both vectors for the next round.
    while (!members_.empty()) {
        closing_.swap(members_);
        for (const auto& m : closing_)
            m->flush_round();
        closing_.clear();
    }
}

} // namespace walcast
