#include "app/source_factory.hpp"

#include "capture/logical/logical_source.hpp"
#include "capture/trigger/trigger_source.hpp"

namespace walcast::app {

CaptureChoice choose_capture(const Config& config, const pg::ConnectParams& params) {
    if (config.capture == "logical" || config.capture == "trigger")
        return {config.capture, "CAPTURE=" + config.capture};
    if (config.embedded()) return {"logical", "auto: the embedded database has wal_level=logical"};
    auto conn = pg::Connection::connect(params);
    if (!conn)
        return {"logical", "auto: the database could not be asked (" + conn.error().message + ")"};
    auto r = conn->exec("SELECT current_setting('wal_level'), (SELECT rolreplication OR rolsuper "
                        "FROM pg_roles WHERE rolname = current_user), "
                        "to_regclass('walcast.event') IS NOT NULL");
    if (!r)
        return {"logical", "auto: the database could not be asked (" + r.error().describe() + ")"};
    const std::string wal_level = r->string(0, 0);
    const bool may_replicate = r->boolean(0, 1) == true;
    const bool installed = r->boolean(0, 2) == true;
    if (wal_level == "logical" && may_replicate)
        return {"logical", "auto: wal_level is logical and the role may replicate"};
    const std::string why = wal_level != "logical" ? "wal_level is " + wal_level
                                                   : "the role has no REPLICATION attribute";
    if (installed) return {"trigger", "auto: " + why + " and trigger capture is installed"};
    return {"logical", "auto: " + why +
                           " and trigger capture is not installed (run `walcast db "
                           "init --capture trigger`)"};
}

std::unique_ptr<capture::Source> make_source(const Config& config, const pg::ConnectParams& params,
                                             capture::ChangeSink& sink, ConfigErrors errors,
                                             std::vector<std::string> extra_publications,
                                             const CaptureChoice* choice) {
    const CaptureChoice chosen = choice ? *choice : choose_capture(config, params);
    if (chosen.kind == "trigger") {
        capture::TriggerSourceOptions options;
        options.publication = config.publication;
        options.consumer_name = config.slot_name;
        options.config_errors_fatal = errors == ConfigErrors::Fatal;
        return std::make_unique<capture::TriggerSource>(params, std::move(options), sink);
    }
    capture::LogicalSourceOptions options;
    options.publication = config.publication;
    options.extra_publications = std::move(extra_publications);
    options.slot_name = config.slot_name;
    options.slot_recreate = config.slot_recreate;
    options.config_errors_fatal = errors == ConfigErrors::Fatal;
    return std::make_unique<capture::LogicalSource>(params, std::move(options), sink);
}

} // namespace walcast::app
