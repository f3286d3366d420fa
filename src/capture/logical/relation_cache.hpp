// RelationCache: the capture::Relation of every table seen on the replication stream, keyed by
// OID, built from pgoutput Relation messages by pg::RelationLoader. A new Relation message
// (ALTER TABLE) replaces the entry.
#pragma once

#include "capture/change.hpp"
#include "common/result.hpp"
#include "pg/pgoutput_decoder.hpp"
#include "pg/relation_loader.hpp"

#include <unordered_map>

namespace walcast::capture {

/// Not thread-safe: owned by the capture thread. The Relations it hands out are immutable and
/// may be shared with any thread.
class RelationCache {
public:
    /// Builds the Relation of message with loader.describe() (the message's columns, types,
    /// primary keys and collations from the catalog), replaces any entry with the same OID and
    /// returns the new one. Errors: catalog queries failed.
    Result<RelationPtr> update(const pg::pgoutput::Relation& message, pg::RelationLoader& loader);

    /// The current Relation of oid, or nullptr when none has been seen.
    RelationPtr find(pg::Oid oid) const {
        auto it = relations_.find(oid);
        return it == relations_.end() ? nullptr : it->second;
    }

    void clear() { relations_.clear(); }
    std::size_t size() const { return relations_.size(); }

private:
    std::unordered_map<pg::Oid, RelationPtr> relations_;
};

} // namespace walcast::capture
