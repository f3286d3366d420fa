#include "app/source_factory.hpp"

#include "capture/logical/logical_source.hpp"

namespace walcast::app {

std::unique_ptr<capture::Source> make_source(const Config& config, const pg::ConnectParams& params,
                                             capture::ChangeSink& sink, ConfigErrors errors,
                                             std::vector<std::string> extra_publications) {
    capture::LogicalSourceOptions options;
    options.publication = config.publication;
    options.extra_publications = std::move(extra_publications);
    options.slot_name = config.slot_name;
    options.slot_recreate = config.slot_recreate;
    options.config_errors_fatal = errors == ConfigErrors::Fatal;
    return std::make_unique<capture::LogicalSource>(params, std::move(options), sink);
}

} // namespace walcast::app
