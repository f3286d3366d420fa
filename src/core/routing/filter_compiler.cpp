#include "core/routing/filter_compiler.hpp"

#include "common/logging.hpp"

#include <unordered_set>

namespace walcast::core {

std::shared_ptr<const CompiledFilter> PgFilterCompiler::compile(const Binding& binding,
                                                                const capture::Relation& relation,
                                                                const std::string& role) {
    const pg::Connection* conn = db_.connection();
    if (!conn) return nullptr;
    PgValueNormalizer normalizer(*conn);
    auto access = access_.access(db_, role, relation.oid);
    if (!access) {
        log::warn("compiling a filter for {}.{}: {}", relation.schema, relation.table,
                  access.error().message);
        return nullptr;
    }
    std::unordered_set<std::string> readable((*access)->readable_columns.begin(),
                                             (*access)->readable_columns.end());
    auto compiled = CompiledFilter::compile(binding.spec.filters, relation, normalizer, &readable);
    if (!compiled) {
        log::info("binding {} does not apply to {}.{}: {}", binding.id, relation.schema,
                  relation.table, compiled.error().describe());
        return nullptr;
    }
    return std::make_shared<const CompiledFilter>(std::move(compiled).value());
}

} // namespace walcast::core
