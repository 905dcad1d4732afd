// SPDX-License-Identifier: Apache-2.0
#include "models_cli.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <exception>
#include <map>
#include <ostream>
#include <utility>

#include "aimass/core/cli.h"
#include "aimass/core/registry_services.h"
#include "aimass/util/number_text.h"
#include "aimass/util/registry_json.h"
#include "data_profile.h"
#include "monitoring/monitor_node.h"
#include "store_options.h"

namespace aimass::core {

const char kModelsHelp[] =
    "The model registry in the storage of a configuration: the versions job.train registers\n"
    "(one per training run) and the aliases that point at them. Only the configuration's\n"
    "storage node is created (the first one, or --storage-node NAME); nothing is trained.\n"
    "\n"
    "  list                      every model: versions, latest version, aliases\n"
    "  show NAME                 the model's versions (version, created, type, metrics,\n"
    "                            parent) and aliases\n"
    "  show NAME/3, NAME@ALIAS   one version: artifact, SHA-256, node, type, dataset version,\n"
    "                            code version, who registered it, metrics, tags, parent (the\n"
    "                            version it was fine-tuned from, job.train's init_from) and\n"
    "                            its training-data profile (per feature: type, missing rate,\n"
    "                            min, quantiles, max, categories seen)\n"
    "  promote NAME VERSION --alias ALIAS\n"
    "                            point ALIAS (e.g. champion) at VERSION, remembering its\n"
    "                            previous target\n"
    "  rollback NAME --alias ALIAS\n"
    "                            move ALIAS back to its previous target\n"
    "  delete NAME/VERSION       delete the version and its artifact; refused while an alias\n"
    "                            points at it unless --force, which deletes those aliases too\n"
    "  tag NAME/VERSION KEY=VALUE... [--remove KEY]...\n"
    "                            set tags on a version (replacing a key's value) and remove\n"
    "                            tags; all in one atomic change\n"
    "  history NAME              the model's event history, oldest first: versions registered\n"
    "                            and deleted, aliases moved and rolled back, and what the\n"
    "                            monitoring services decided (time, kind, version, alias,\n"
    "                            who, what)\n"
    "  drift NAME[/VERSION|@ALIAS] --data FILE.csv [--json] [--number-test T]\n"
    "        [--category-test T] [--alpha A] [--correction C] [--threads N]\n"
    "                            a batch drift report: the CSV's rows (columns named after\n"
    "                            the profile's features) tested against the version's\n"
    "                            training-data profile, feature by feature (docs/monitoring.md)\n"
    "  payloads NAME[/VERSION] [--since UNIX_NS] [--limit N] [--json]\n"
    "                            the requests payload logging recorded for the model (of one\n"
    "                            version), oldest first, from a unix time in ns\n"
    "                            (time, version, request id, latency, outcome, tensors;\n"
    "                            --json: every tensor in full); default limit 20\n"
    "  gc [--dry-run] [--min-age SECONDS]\n"
    "                            delete artifacts under models/<model>/artifacts/ that no\n"
    "                            version names (left by a crash between saving an artifact\n"
    "                            and registering it); artifacts saved less than --min-age ago\n"
    "                            (default 3600) are kept, their training may still be\n"
    "                            registering them. --dry-run only lists them\n"
    "\n"
    "--json (list, show, history) prints JSON instead of text. Instead of --config CONFIG, --storage\n"
    "URI opens a store directly, in one of the forms the storage plugins declare (listed\n"
    "below, from the plugins loaded now).\n"
    "show NAME/VERSION re-hashes the artifact and fails (exit 1) when it no longer matches the\n"
    "recorded SHA-256.\n"
    "\n"
    "Exit code: 0 success; 1 the store failed (I/O error, corrupt record); 2 bad input: usage,\n"
    "an invalid configuration, no storage node, an unknown model, version or alias, a bad\n"
    "name, a delete refused because of aliases, a rollback with no earlier target.\n"
    "\n"
    "Examples:\n"
    "  aimass models list --config configs/quickstart.yaml\n"
    "  aimass models show fashion --config configs/quickstart.yaml\n"
    "  aimass models promote fashion 2 --alias champion --config configs/quickstart.yaml\n"
    "  aimass models rollback fashion --alias champion --config configs/quickstart.yaml\n"
    "  aimass models delete fashion/1 --config configs/quickstart.yaml\n"
    "  aimass models tag fashion/2 stage=review --remove draft --config configs/quickstart.yaml\n"
    "  aimass models history fashion --config configs/quickstart.yaml\n"
    "  aimass models payloads fashion --limit 5 --config configs/quickstart.yaml\n"
    "  aimass models drift fashion@champion --data today.csv --config configs/quickstart.yaml\n"
    "  aimass models gc --dry-run --config configs/quickstart.yaml\n"
    "  aimass models list --storage sqlite:///var/lib/aimass/store.db\n";

namespace {

std::string formatMetric(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", v);
  return buffer;
}

std::string metricsText(const std::map<std::string, double>& metrics) {
  std::string out;
  for (const auto& [name, value] : metrics) {
    out += (out.empty() ? "" : " ") + name + "=" + formatMetric(value);
  }
  return out.empty() ? "-" : out;
}

/// "pumps/2 sha256 5d41... (reader fingerprint 9a0b...)"; older records have only the
/// fingerprint.
std::string datasetText(const ModelVersionInfo& v) {
  std::string text;
  if (!v.dataset_name.empty()) {
    text = v.dataset_name + "/" + std::to_string(v.dataset_version) + " sha256 " + v.dataset_sha256;
  }
  if (!v.dataset_fingerprint.empty()) {
    text += text.empty() ? "fingerprint " + v.dataset_fingerprint
                         : " (reader fingerprint " + v.dataset_fingerprint + ")";
  }
  return text.empty() ? "-" : text;
}

Expected<std::int64_t> parseVersion(std::string_view text) {
  std::int64_t version = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (error != std::errc() || end != text.data() + text.size() || version < 1) {
    return invalidArgument("version must be a whole number from 1, got '" + std::string(text) +
                           "'");
  }
  return version;
}

}  // namespace

namespace {

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    out += (out.empty() ? "" : ",") + w;
  }
  return out.empty() ? "-" : out;
}

}  // namespace

namespace {

std::string percent(double share) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", 100.0 * share);
  return text;
}

/// The seen categories, the first few of them, and how many more.
std::string categoriesText(const FeatureProfile& f) {
  constexpr std::size_t kShown = 6;
  std::string text = std::to_string(f.categories.size()) + (f.complete ? "" : "+") + " seen:";
  for (std::size_t i = 0; i < f.categories.size() && i < kShown; ++i) {
    text += (i == 0 ? " " : ", ") + f.categories[i];
  }
  if (f.categories.size() > kShown) {
    text += ", ...";
  }
  return text;
}

/// The live metric a monitor measured for the version from ground truth (monitor_node.h's
/// liveMetricKey()); a record that is missing or unreadable shows as none.
void printLiveMetric(const Storage& storage, const ModelVersion& v, std::ostream& out) {
  auto text = storage.get(liveMetricKey(v.model, v.version));
  Poco::JSON::Object::Ptr live;
  if (text.ok()) {
    try {
      live = Poco::JSON::Parser().parse(*text).extract<Poco::JSON::Object::Ptr>();
    } catch (const std::exception&) {
      live = nullptr;
    }
  }
  if (!live) {
    out << "live      - (no ground truth joined by a service.monitor)\n";
    return;
  }
  out << "live      " << live->optValue<std::string>("metric", "?") << " "
      << formatMetric(live->optValue<double>("value", 0)) << " over the last "
      << live->optValue<std::uint64_t>("window_rows", 0) << " labelled rows ("
      << live->optValue<std::uint64_t>("labelled_rows", 0) << " joined), as of "
      << formatUtcTime(live->optValue<std::int64_t>("unix_ms", 0)) << "\n";
}

/// The training-data profile of a version: one line per feature.
Status printProfile(const Storage& storage, const std::string& key, std::ostream& out) {
  if (key.empty()) {
    out << "profile   - (none: registered before training-data profiles, or not profiled)\n";
    return Status();
  }
  AIMASS_ASSIGN_OR_RETURN(auto profile, readDataProfile(storage, key));
  out << "profile   " << key << " (" << profile->rows << " training rows)\n";
  std::vector<std::vector<std::string>> numbers = {
      {"FEATURE", "TYPE", "MISSING", "MIN", "P1", "P50", "P99", "MAX"}};
  std::vector<std::vector<std::string>> categories = {{"FEATURE", "TYPE", "MISSING", "CATEGORIES"}};
  for (const auto& f : profile->features) {
    if (f.kind == FeatureProfile::Kind::kNumber) {
      auto shown = [](double v) { return formatNumber(static_cast<float>(v)); };
      numbers.push_back({f.name, "number", percent(f.missingRate()), shown(f.min),
                         shown(f.quantiles[0]), shown(f.quantiles[3]), shown(f.quantiles[6]),
                         shown(f.max)});
    } else {
      categories.push_back({f.name, "category", percent(f.missingRate()), categoriesText(f)});
    }
  }
  if (numbers.size() > 1) {
    out << textTable(numbers);
  }
  if (categories.size() > 1) {
    out << textTable(categories);
  }
  return Status();
}

}  // namespace

Status printModelList(ModelRegistry& registry, bool as_json, std::ostream& out) {
  AIMASS_ASSIGN_OR_RETURN(auto models, modelSummaries(registry));
  if (as_json) {
    out << modelListJson(models);
    return Status();
  }
  if (models.empty()) {
    out << "no models registered\n";
    return Status();
  }
  std::vector<std::vector<std::string>> rows = {{"MODEL", "VERSIONS", "LATEST", "ALIASES"}};
  for (const auto& model : models) {
    std::vector<std::string> alias_texts;
    for (const auto& [alias, version] : model.aliases) {
      alias_texts.push_back(alias + "=" + std::to_string(version));
    }
    rows.push_back({model.model, std::to_string(model.versions),
                    model.latest > 0 ? std::to_string(model.latest) : "-", joined(alias_texts)});
  }
  out << textTable(rows);
  return Status();
}

Status printModel(ModelRegistry& registry, const std::string& reference, bool as_json,
                  std::ostream& out) {
  const bool one_version = reference.find_first_of("/@") != std::string::npos;
  if (one_version) {
    AIMASS_ASSIGN_OR_RETURN(ModelVersionInfo v, verifiedModelVersion(registry, reference));
    if (as_json) {
      out << modelVersionJson(v);
      return Status();
    }
    out << "model     " << v.model << "\n"
        << "version   " << v.version << "\n"
        << "aliases   " << joined(v.aliases) << "\n"
        << "created   " << formatUtcTime(v.created_unix_ms) << "\n"
        << "node      " << v.node << " (" << v.node_type << ")\n"
        << "artifact  " << v.artifact_key << "\n"
        << "sha256    " << v.sha256 << "\n"
        << "dataset   " << datasetText(v) << "\n"
        << "code      " << (v.code_version.empty() ? "-" : v.code_version) << "\n"
        << "by        " << (v.created_by.empty() ? "-" : v.created_by) << "\n"
        << "metrics   " << metricsText(v.metrics) << "\n"
        << "parent    " << (v.parent.empty() ? "-" : v.parent) << "\n";
    for (const auto& [name, value] : v.tags) {
      out << "tag       " << name << "=" << value << "\n";
    }
    AIMASS_ASSIGN_OR_RETURN(ModelVersion record, registry.resolve(reference));
    printLiveMetric(registry.storage(), record, out);
    return printProfile(registry.storage(), record.profile_key, out);
  }
  AIMASS_ASSIGN_OR_RETURN(ModelInfo model, modelInfo(registry, reference));
  if (as_json) {
    out << modelJson(model);
    return Status();
  }
  std::vector<std::vector<std::string>> rows = {
      {"VERSION", "CREATED", "TYPE", "ALIASES", "METRICS", "PARENT"}};
  for (std::size_t i = 0; i < model.versions.size(); ++i) {
    const ModelVersionInfo& v = model.versions[i];
    rows.push_back({std::to_string(v.version), formatUtcTime(v.created_unix_ms), v.node_type,
                    joined(v.aliases), metricsText(v.metrics), v.parent.empty() ? "-" : v.parent});
  }
  out << textTable(rows);
  return Status();
}

Status printModelHistory(ModelRegistry& registry, const std::string& model, bool as_json,
                         std::ostream& out) {
  AIMASS_ASSIGN_OR_RETURN(auto events, modelEvents(registry, model, ModelEventQuery{0, 0, {}}));
  if (as_json) {
    out << modelEventsJson(model, events);
    return Status();
  }
  if (events.empty()) {
    out << "model '" << model << "' has no recorded events\n";
    return Status();
  }
  std::vector<std::vector<std::string>> rows = {
      {"SEQ", "TIME (UTC)", "KIND", "VERSION", "ALIAS", "BY", "WHAT"}};
  for (const auto& e : events) {
    rows.push_back({std::to_string(e.sequence), formatUtcTime(e.unix_ms), e.kind,
                    e.version > 0 ? std::to_string(e.version) : "-",
                    e.alias.empty() ? "-" : e.alias, e.actor, e.message});
  }
  out << textTable(rows);
  return Status();
}

namespace {

std::string movedText(const ModelAlias& alias) {
  std::string text =
      alias.model + "@" + alias.alias + " -> version " + std::to_string(alias.version);
  return text + "\n";
}

Status dispatch(const ModelsCommand& command, ModelRegistry& registry, std::ostream& out) {
  const auto& args = command.arguments;
  if (command.action == "list") {
    return printModelList(registry, command.json, out);
  }
  if (command.action == "show") {
    return printModel(registry, args[0], command.json, out);
  }
  if (command.action == "history") {
    return printModelHistory(registry, args[0], command.json, out);
  }
  if (command.action == "promote") {
    auto version = parseVersion(args[1]);
    AIMASS_RETURN_IF_ERROR(version.status());
    auto alias = registry.promote(args[0], command.alias, *version);
    AIMASS_RETURN_IF_ERROR(alias.status());
    out << movedText(*alias);
    return Status();
  }
  if (command.action == "rollback") {
    auto alias = registry.rollback(args[0], command.alias);
    AIMASS_RETURN_IF_ERROR(alias.status());
    out << movedText(*alias);
    return Status();
  }
  if (command.action == "gc") {
    auto report = registry.collectGarbage(command.dry_run, command.min_age_seconds * 1000);
    AIMASS_RETURN_IF_ERROR(report.status());
    const char* verb = command.dry_run ? "would remove " : "removed ";
    for (const auto& key : report->removed) {
      out << verb << key << "\n";
    }
    for (const auto& key : report->too_recent) {
      out << "kept " << key << " (unreferenced, saved less than " << command.min_age_seconds
          << " s ago)\n";
    }
    out << (command.dry_run ? "would remove " : "removed ") << report->removed.size()
        << " unreferenced artifact" << (report->removed.size() == 1 ? "" : "s") << "; kept "
        << report->referenced << " referenced, " << report->too_recent.size() << " recent\n";
    return Status();
  }
  // delete and tag: NAME/VERSION
  const std::string& reference = args[0];
  const auto slash = reference.rfind('/');
  if (slash == std::string::npos) {
    return invalidArgument(command.action + " takes NAME/VERSION, e.g. pump_state/3, got '" +
                           reference + "'");
  }
  const std::string model = reference.substr(0, slash);
  auto version = parseVersion(std::string_view(reference).substr(slash + 1));
  AIMASS_RETURN_IF_ERROR(version.status());
  if (command.action == "tag") {
    std::map<std::string, std::string> set;
    for (std::size_t i = 1; i < args.size(); ++i) {
      const auto eq = args[i].find('=');
      if (eq == std::string::npos || eq == 0) {
        return invalidArgument("tag '" + args[i] + "' is not KEY=VALUE");
      }
      set[args[i].substr(0, eq)] = args[i].substr(eq + 1);
    }
    auto tagged = registry.setTags(model, *version, set, command.remove_tags);
    AIMASS_RETURN_IF_ERROR(tagged.status());
    std::string tags;
    for (const auto& [name, value] : tagged->tags) {
      tags += " " + name + "=" + value;
    }
    out << model << "/" << *version << " tags:" << (tags.empty() ? " (none)" : tags) << "\n";
    return Status();
  }
  AIMASS_RETURN_IF_ERROR(registry.deleteVersion(model, *version, command.force));
  out << "deleted " << model << " version " << *version << "\n";
  return Status();
}

}  // namespace

Expected<ModelsCommand> parseModelsCommand(const std::vector<std::string>& words) {
  ModelsCommand command;
  bool min_age_given = false;
  auto handle = [&](const std::string& option, const std::string& taken) -> Status {
    if (option == "--json") {
      command.json = true;
    } else if (option == "--force") {
      command.force = true;
    } else if (option == "--dry-run") {
      command.dry_run = true;
    } else if (option == "--alias") {
      command.alias = taken;
    } else if (option == "--remove") {
      if (taken.empty()) {
        return invalidArgument("--remove needs a tag name");
      }
      command.remove_tags.push_back(taken);
    } else {  // --min-age
      std::int64_t seconds = -1;
      auto [end, error] = std::from_chars(taken.data(), taken.data() + taken.size(), seconds);
      if (error != std::errc() || end != taken.data() + taken.size() || seconds < 0) {
        return invalidArgument("--min-age must be a whole number of seconds from 0, got '" + taken +
                               "'");
      }
      command.min_age_seconds = seconds;
      min_age_given = true;
    }
    return Status();
  };
  AIMASS_ASSIGN_OR_RETURN(StoreOptions options,
                          parseStoreOptions(words,
                                            {.command = "models",
                                             .flags = {"--json", "--force", "--dry-run"},
                                             .valued = {"--remove", "--min-age", "--alias"}},
                                            handle));
  assignStoreChoice(options, command);
  const auto& positional = options.positional;
  if (positional.empty()) {
    return invalidArgument(
        "'models' needs a subcommand: list, show, promote, rollback, delete, tag or gc");
  }
  command.action = positional.front();
  command.arguments.assign(positional.begin() + 1, positional.end());
  struct Shape {
    const char* action;
    std::size_t arguments;  ///< exactly this many, or at least this many with `more`
    const char* usage;
    bool json;
    bool alias;
    bool force;
    bool more = false;
  };
  static constexpr Shape kShapes[] = {
      {"list", 0, "models list [--json]", true, false, false},
      {"show", 1, "models show NAME[/VERSION|@ALIAS] [--json]", true, false, false},
      {"promote", 2, "models promote NAME VERSION --alias ALIAS", false, true, false},
      {"rollback", 1, "models rollback NAME --alias ALIAS", false, true, false},
      {"delete", 1, "models delete NAME/VERSION [--force]", false, false, true},
      {"tag", 1, "models tag NAME/VERSION KEY=VALUE... [--remove KEY]...", false, false, false,
       true},
      {"gc", 0, "models gc [--dry-run] [--min-age SECONDS]", false, false, false},
      {"history", 1, "models history NAME [--json]", true, false, false},
  };
  const Shape* shape = nullptr;
  for (const auto& s : kShapes) {
    if (command.action == s.action) {
      shape = &s;
    }
  }
  if (shape == nullptr) {
    return invalidArgument("unknown subcommand 'models " + command.action +
                           "': use list, show, history, promote, rollback, delete, tag or gc");
  }
  const std::string usage = std::string(" (usage: aimass ") + shape->usage + " --config CONFIG)";
  if (shape->more ? command.arguments.size() < shape->arguments
                  : command.arguments.size() != shape->arguments) {
    return invalidArgument("'aimass models " + command.action + "' takes " +
                           (shape->more ? "at least " : "") + std::to_string(shape->arguments) +
                           " argument" + (shape->arguments == 1 ? "" : "s") + usage);
  }
  const bool is_tag = command.action == "tag", is_gc = command.action == "gc";
  if (is_tag && command.arguments.size() == 1 && command.remove_tags.empty()) {
    return invalidArgument("'aimass models tag' needs KEY=VALUE or --remove KEY" + usage);
  }
  if (!command.remove_tags.empty() && !is_tag) {
    return invalidArgument("--remove is not an option of 'aimass models " + command.action + "'");
  }
  if ((command.dry_run || min_age_given) && !is_gc) {
    return invalidArgument(std::string(command.dry_run ? "--dry-run" : "--min-age") +
                           " is not an option of 'aimass models " + command.action + "'");
  }
  if (command.json && !shape->json) {
    return invalidArgument("--json is not an option of 'aimass models " + command.action + "'");
  }
  if (command.force && !shape->force) {
    return invalidArgument("--force is not an option of 'aimass models " + command.action + "'");
  }
  if (shape->alias != !command.alias.empty()) {
    return invalidArgument(
        shape->alias ? "'aimass models " + command.action + "' needs --alias ALIAS" + usage
                     : "--alias is not an option of 'aimass models " + command.action + "'");
  }
  AIMASS_RETURN_IF_ERROR(checkStoreChoice("models " + command.action, "registry", command.config,
                                          command.storage_uri, command.storage_node));
  return command;
}

Expected<std::shared_ptr<Storage>> openGraphStorage(const Graph& graph, Host& host,
                                                    std::string_view storage_node) {
  const GraphNode* chosen = nullptr;
  std::vector<std::string> storage_names;
  for (const auto& node : graph.nodes()) {
    if (node.type == nullptr || node.type->type.kind != NodeKind::kStorage) {
      continue;
    }
    storage_names.push_back(node.decl.name);
    if (chosen == nullptr && (storage_node.empty() || node.decl.name == storage_node)) {
      chosen = &node;
    }
  }
  if (chosen == nullptr) {
    if (storage_node.empty()) {
      return notFound("the configuration has no storage node");
    }
    std::string known;
    for (const auto& name : storage_names) {
      known += (known.empty() ? "" : ", ") + name;
    }
    return notFound("no storage node '" + std::string(storage_node) + "' in the configuration" +
                    (known.empty() ? std::string() : " (storage nodes: " + known + ")"));
  }
  const RegisteredType& type = *chosen->type;
  if (!chosen->refs.empty()) {
    return invalidArgument("storage node '" + chosen->decl.name +
                           "' references other nodes; the models commands create storage "
                           "nodes alone");
  }
  NodeConfig config(chosen->decl.name, type.type.type, &host);
  for (const auto& [name, value] : chosen->values) {
    config.setValue(name, value);
  }
  auto node = graph.registry().instantiate(config, NodeKind::kStorage);
  if (!node.ok()) {
    const Status& status = node.status();
    return Status(status.code(), "storage node '" + chosen->decl.name + "' (" + type.type.type +
                                     "): " + status.message());
  }
  return std::static_pointer_cast<Storage>(std::move(node).value());
}

int runModelsCommand(const ModelsCommand& command, ModelRegistry& registry, std::ostream& out,
                     std::ostream& err) {
  Status status = dispatch(command, registry, out);
  return storeCommandExit(status, err);
}

}  // namespace aimass::core
