// FilterCompiler: how the router compiles a binding's filter for a table it did not know when
// the channel joined (a table added to the publication later, or a new relation version). The
// router calls it outside the index lock; PgFilterCompiler asks Postgres (casts, collations)
// over the router's catalog connection; tests use fakes.
#pragma once

#include "core/authorization/table_access.hpp"
#include "core/filter/filter.hpp"
#include "core/subscription/subscription.hpp"

#include <memory>
#include <string>

namespace walcast::core {

class FilterCompiler {
public:
    virtual ~FilterCompiler() = default;
    /// binding's filter bound to relation, validated as role sees it; null when it cannot apply
    /// to that table (it then never matches there). Router thread; may block on the database.
    virtual std::shared_ptr<const CompiledFilter>
    compile(const Binding& binding, const capture::Relation& relation, const std::string& role) = 0;
};

/// Over the router's catalog connection (db) and the shared access cache (readable columns).
class PgFilterCompiler final : public FilterCompiler {
public:
    PgFilterCompiler(PgAccessSource& db, AccessCache& access) : db_(db), access_(access) {}
    std::shared_ptr<const CompiledFilter> compile(const Binding& binding,
                                                  const capture::Relation& relation,
                                                  const std::string& role) override;

private:
    PgAccessSource& db_;
    AccessCache& access_;
};

} // namespace walcast::core
