// "Are these transactions visible yet?" — the first statement of a transaction that must see
// the effect of changes it was told about by the change stream. A walsender can decode a commit
// before the committing backend has left the ProcArray, so a statement run at once could still
// see the previous version of the rows. Used by the row-level security checks (core/) and the
// live-query engine (livequery/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace walcast::pg {

/// Transaction ids to wait for: 32-bit xids as pgoutput sends them (epoch unknown) and full
/// xid8 values (trigger capture).
struct XidList {
    std::vector<std::uint64_t> short_xids; ///< 32-bit, epoch unknown
    std::vector<std::uint64_t> full_xids;  ///< xid8
    void add(std::uint64_t xid, bool has_epoch) {
        (has_epoch ? full_xids : short_xids).push_back(xid);
    }
    bool empty() const { return short_xids.empty() && full_xids.empty(); }
    void clear() {
        short_xids.clear();
        full_xids.clear();
    }
    /// Sorts both lists and drops duplicates.
    void sort_unique();
};

/// One SELECT (with its trailing ';') answering one row with one boolean: true when every xid
/// of the list is visible to a snapshot taken now (an empty list: true). Each later statement
/// of a READ COMMITTED transaction takes a newer snapshot, so "visible here" means visible to
/// the statements that follow. A 32-bit xid gets its epoch from the snapshot's xmax (an xid
/// above xmax's low half belongs to the previous epoch). Pure function.
std::string visibility_statement(const XidList& xids);

} // namespace walcast::pg
