#include "app/source_factory.hpp"

#include "app/auto_source.hpp"
#include "capture/logical/logical_source.hpp"
#include "capture/trigger/trigger_source.hpp"

namespace walcast::app {

namespace {

std::unique_ptr<capture::Source> make_mode(const std::string& mode, const Config& config,
                                           const pg::ConnectParams& params,
                                           capture::ChangeSink& sink, ConfigErrors errors,
                                           std::vector<std::string> extra_publications) {
    if (mode == "trigger") {
        capture::trigger::TriggerSourceOptions options;
        options.publication = config.publication;
        options.consumer = config.slot_name;
        options.config_errors_fatal = errors == ConfigErrors::Fatal;
        return std::make_unique<capture::trigger::TriggerSource>(params, std::move(options), sink);
    }
    capture::LogicalSourceOptions options;
    options.publication = config.publication;
    options.extra_publications = std::move(extra_publications);
    options.slot_name = config.slot_name;
    options.slot_recreate = config.slot_recreate;
    options.config_errors_fatal = errors == ConfigErrors::Fatal;
    return std::make_unique<capture::LogicalSource>(params, std::move(options), sink);
}

} // namespace

std::unique_ptr<capture::Source> make_source(const Config& config, const pg::ConnectParams& params,
                                             capture::ChangeSink& sink, ConfigErrors errors,
                                             std::vector<std::string> extra_publications) {
    if (config.capture != "auto")
        return make_mode(config.capture, config, params, sink, errors,
                         std::move(extra_publications));
    return std::make_unique<AutoSource>(
        params,
        [config, params, &sink, errors, extra_publications](const std::string& mode) {
            return make_mode(mode, config, params, sink, errors, extra_publications);
        },
        errors == ConfigErrors::Fatal);
}

std::optional<capture::CaptureChoice> capture_choice(const capture::Source& source,
                                                     std::chrono::milliseconds timeout) {
    if (const auto* a = dynamic_cast<const AutoSource*>(&source)) return a->wait_choice(timeout);
    const std::string kind(source.kind());
    return capture::CaptureChoice{kind, "CAPTURE=" + kind};
}

} // namespace walcast::app
