#include "capture/logical/relation_cache.hpp"

namespace walcast::capture {

Result<RelationPtr> RelationCache::update(const pg::pgoutput::Relation& m,
                                          pg::RelationLoader& loader) {
    auto description = loader.describe(m);
    if (!description) return std::move(description).error();
    RelationPtr ptr = make_relation(std::move(description).value());
    relations_[m.oid] = ptr;
    return ptr;
}

} // namespace walcast::capture
