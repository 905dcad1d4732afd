// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/cli.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <yaml-cpp/exceptions.h>

#include <algorithm>
#include <atomic>
#include <boost/program_options.hpp>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "aimass/core/config.h"
#include "aimass/core/graph.h"
#include "aimass/core/host_services.h"
#include "aimass/core/plugin_check.h"
#include "aimass/core/plugin_loader.h"
#include "aimass/core/progress.h"
#include "aimass/core/runtime.h"
#include "aimass/core/storage_uri.h"
#include "aimass/core/type_docs.h"
#include "aimass/core/type_registry.h"
#include "aimass/job.h"
#include "datasets_cli.h"
#include "evaluate_job.h"
#include "jobs/jobs_cli.h"
#include "jobs/jobs_node.h"
#include "jobs/worker_process.h"
#include "models_cli.h"
#include "monitoring/drift_report_cli.h"
#include "monitoring/payloads_cli.h"
#include "plugin_commands.h"
#include "runs_cli.h"
#include "tune/trial_worker.h"
#include "tune/tune_cli.h"

namespace aimass::core {
namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;

/// Thrown for command-line mistakes; runCli prints it with a pointer to the
/// help, exit 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CommandHelp {
  const char* name;     // "plugins describe"
  const char* usage;    // "plugins describe TYPE [--json]"
  const char* summary;  // one line for the overview
  const char* details;  // the command's own help
};

constexpr CommandHelp kCommands[] = {
    {"validate", "validate CONFIG", "Check a configuration without running anything.",
     "Reads CONFIG (YAML or JSON) with its includes, loads the plugins, and "
     "checks every node:\n"
     "its type, every parameter (name, type, range, choices), required "
     "parameters, and\n"
     "references (the named node exists, has the right kind, and there is no "
     "cycle). Every\n"
     "problem is printed as FILE:LINE:COL: error: message, with a hint where "
     "one helps.\n"
     "Prints \"CONFIG: ok (N nodes)\" when the configuration is valid.\n"
     "\n"
     "Exit code: 0 valid, 2 invalid.\n"
     "\n"
     "Example:\n"
     "  aimass validate configs/quickstart.yaml\n"},
    {"run", "run CONFIG", "Build the graph, run its jobs, serve its frontends.",
     "Validates CONFIG as `aimass validate` does, then creates every node in "
     "dependency order,\n"
     "offers each model node to frontends under its node name (version \"1\"), "
     "and runs the job\n"
     "nodes in order with a progress display (a bar on a terminal, log lines "
     "otherwise). Then\n"
     "it starts the frontends, prints \"serving <endpoint>\" for each, and "
     "serves until SIGINT\n"
     "(Ctrl-C) or SIGTERM; with no frontend it exits once the jobs are done. "
     "The first signal\n"
     "stops jobs and frontends cleanly; a second one exits at once.\n"
     "\n"
     "Exit code: 0 success, 1 a node could not be created, a job failed or was "
     "cancelled, or\n"
     "a frontend could not start; 2 invalid configuration.\n"
     "\n"
     "Examples:\n"
     "  aimass run configs/quickstart.yaml\n"
     "  aimass run --log-level debug configs/quickstart.yaml\n"},
    {"serve", "serve CONFIG", "Run a long-lived graph: its frontends and services.",
     "Runs CONFIG as `aimass run` does (jobs first, then the frontends and services), for a\n"
     "graph that serves: it must have a frontend (frontend.http, ...) or a service node\n"
     "(service.jobs, docs/jobs.md), and is refused otherwise, before anything is created. It\n"
     "serves until SIGINT (Ctrl-C) or SIGTERM; the first signal stops the job service (its\n"
     "running jobs are queued again for the next start) and the frontends cleanly.\n"
     "\n"
     "Exit code: 0 stopped by a signal, 1 a node or frontend could not start, 2 invalid\n"
     "configuration or a graph with neither a frontend nor a service.\n"
     "\n"
     "Example:\n"
     "  aimass serve configs/jobs_service.yaml\n"},
    {"eval", "eval CONFIG [--json] [--precision fp32|bf16|auto]",
     "Train as configured, then evaluate and print metrics.",
     "Validates CONFIG and creates its nodes as `aimass run` does, runs every job that is not\n"
     "a job.evaluate in order (training first), then every job.evaluate, and prints each\n"
     "evaluation: summary metrics (accuracy, macro F1, log-loss, ROC-AUC; or RMSE, MAE, R²),\n"
     "per-class precision/recall/F1/support and the confusion matrix; for a clustering model\n"
     "inertia, silhouette, Davies-Bouldin (and ARI, NMI against class labels); for a\n"
     "recommender RMSE, MAE (with ratings) and precision, recall, NDCG and MAP at k. With\n"
     "--json, prints a JSON array with one object per job.evaluate instead. --precision sets\n"
     "every job.evaluate's `precision`: the precision the model predicts in (model.mlp: bf16\n"
     "products on CPUs with AVX512-BF16; auto picks bf16 only there). Frontends are not\n"
     "started.\n"
     "\n"
     "Exit code: 0 success, 1 a node could not be created or a job failed, 2 invalid\n"
     "configuration or no job.evaluate node.\n"
     "\n"
     "Examples:\n"
     "  aimass eval configs/fashion_mnist_softmax.yaml\n"
     "  aimass eval --json configs/fashion_mnist_softmax.yaml > report.json\n"},
    {"models", "models ACTION ... --config CONFIG | --storage URI",
     "List, show, promote, roll back or delete registered model versions.", kModelsHelp},
    {"datasets", "datasets ACTION ... --config CONFIG | --storage URI",
     "List and show registered dataset versions (by content hash).", kDatasetsHelp},
    {"runs", "runs ACTION ... --config CONFIG | --storage URI",
     "List tracked training runs (filtered, sorted by a metric) or show one.", kRunsHelp},
    {"jobs", "jobs ACTION ... --config CONFIG",
     "Submit graphs to a job service, list, show, follow or cancel its jobs.", jobs::kJobsHelp},
    {"tune", "tune ACTION ... --config CONFIG | --storage URI",
     "List job.tune's studies or show one: leaderboard and parameter importances.", kTuneHelp},
    {"plugins list", "plugins list [--json]", "List node types and refused libraries.",
     "Loads the built-in types and every plugin found (see \"Plugin search\" "
     "in aimass --help)\n"
     "and prints one row per node type: TYPE KIND PLUGIN VERSION LIBRARY, "
     "followed by the\n"
     "libraries that were refused and why. With --json, prints an array of\n"
     "{type, kind, plugin, version, library, summary} objects and reports "
     "refusals on stderr.\n"
     "\n"
     "Examples:\n"
     "  aimass plugins list\n"
     "  aimass plugins list --json\n"
     "  aimass plugins list --plugin-path ./my-plugins\n"},
    {"plugins describe", "plugins describe TYPE [--json]",
     "Show a node type's parameters and docs.",
     "Prints the type's summary, the plugin and library it comes from, and "
     "every parameter\n"
     "with its type, whether it is required or its default, its range, choices "
     "or the kind of\n"
     "node it references, an example and its documentation. With --json, one "
     "object.\n"
     "\n"
     "Exit code: 0, or 2 for an unknown type (with a suggestion).\n"
     "\n"
     "Example:\n"
     "  aimass plugins describe model.softmax\n"},
    {"plugins reference", "plugins reference", "Print the Markdown configuration reference.",
     "Writes a Markdown reference of every node type, grouped by kind, with a "
     "parameter table\n"
     "per type. docs/config-reference.md is generated this way.\n"
     "\n"
     "Example:\n"
     "  aimass plugins reference > docs/config-reference.md\n"},
    {"plugin check", "plugin check LIB.so [--json]", "Check one plugin library and its node types.",
     "Loads LIB.so alone with the host's checks (ABI, toolchain, "
     "registration), checks each\n"
     "type's schema (summary, parameter docs, valid examples), builds each "
     "type from its\n"
     "defaults and parameter examples (\"{tmp}\" becomes a fresh temporary "
     "folder), and runs\n"
     "the conformance suite of its kind. Prints \"PASS|FAIL|SKIP <type>: "
     "<check>[: detail]\"\n"
     "lines and \"N passed, M failed, K skipped\". Types that need references "
     "to other nodes,\n"
     "or whose required parameters have no example, are skipped with the "
     "reason.\n"
     "\n"
     "Exit code: 0 every check passed, 1 a check failed, 2 the library was "
     "refused.\n"
     "\n"
     "Example:\n"
     "  aimass plugin check "
     "build/lib/aimass/plugins/libaimass_storage_fs.so\n"},
};

const CommandHelp* findCommand(const std::string& name) {
  for (const auto& command : kCommands) {
    if (name == command.name) {
      return &command;
    }
  }
  return nullptr;
}

std::optional<LogLevel> parseLogLevel(const std::string& text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warning") return LogLevel::kWarning;
  if (text == "error") return LogLevel::kError;
  return std::nullopt;
}

std::string versionLine() {
  return "aimass " + std::string(hostVersion()) + " (plugin ABI " +
         std::to_string(AIMASS_ABI_MAJOR) + "." + std::to_string(AIMASS_ABI_MINOR) +
         ", toolchain " AIMASS_TOOLCHAIN_TAG ")";
}

std::string didYouMean(const std::vector<std::string>& suggestions) {
  if (suggestions.empty()) {
    return "";
  }
  std::string out = "; did you mean '" + suggestions[0] + "'";
  for (std::size_t i = 1; i < suggestions.size(); ++i) {
    out += (i + 1 == suggestions.size() ? " or '" : ", '") + suggestions[i] + "'";
  }
  return out + "?";
}

/// The built-in types and every plugin the host finds, loaded once per command.
struct PluginSet {
  TypeRegistry registry;
  PluginLoader loader{registry};
};

/// Waits for SIGINT/SIGTERM on its own thread and asks the host to stop. The
/// signals must be blocked in every thread before it starts (they are, by
/// Cli::run before anything else).
class SignalWatcher {
 public:
  explicit SignalWatcher(HostServices& host) : host_(host) {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    thread_ = std::thread([this] { watch(); });
  }

  ~SignalWatcher() {
    closing_.store(true);
    // Wakes sigwait() with a signal aimed at this thread alone; it sees
    // closing_ and returns.
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }

  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  /// Blocks until a signal asked the process to stop.
  void waitForStop() {
    std::unique_lock lock(mutex_);
    stopped_.wait(lock, [&] { return stop_; });
  }

 private:
  void watch() {
    int count = 0;
    while (true) {
      int signal = 0;
      if (sigwait(&signals_, &signal) != 0 || closing_.load()) {
        return;
      }
      if (++count > 1) {
        static const char kMessage[] = "aimass: second signal, exiting now\n";
        ssize_t ignored = write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
        (void)ignored;
        std::_Exit(130);
      }
      host_.log(LogLevel::kInfo, "",
                std::string("received ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") +
                    ", stopping (send it again to exit at once)");
      host_.requestStop();
      {
        std::lock_guard lock(mutex_);
        stop_ = true;
      }
      stopped_.notify_all();
    }
  }

  HostServices& host_;
  sigset_t signals_;
  std::atomic<bool> closing_{false};
  std::mutex mutex_;
  std::condition_variable stopped_;
  bool stop_ = false;
  std::thread thread_;
};

/// Blocks SIGINT and SIGTERM in this thread (and so in every thread it starts)
/// and restores the previous mask when destroyed.
class BlockedSignals {
 public:
  BlockedSignals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, &previous_);
  }
  ~BlockedSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;

 private:
  sigset_t previous_;
};

class Cli {
 public:
  int run(int argc, char** argv) {
    po::options_description global = globalOptions();
    po::options_description positional_options;
    positional_options.add_options()("command", po::value<std::string>())(
        "args", po::value<std::vector<std::string>>());
    po::options_description all;
    all.add(global).add(positional_options);
    po::positional_options_description positional;
    positional.add("command", 1).add("args", -1);

    po::variables_map vm;
    std::vector<std::string> flags;
    // `--precision VALUE` (eval) is read as one flag, `--precision=VALUE`: unknown options take
    // no value here, so VALUE would otherwise count as an argument.
    std::vector<std::string> arguments(argv + 1, argv + argc);
    for (std::size_t i = 0; i + 1 < arguments.size(); ++i) {
      if (arguments[i] == "--precision") {
        arguments[i] += "=" + arguments[i + 1];
        arguments.erase(arguments.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      }
    }
    try {
      auto parsed = po::command_line_parser(arguments)
                        .options(all)
                        .positional(positional)
                        .allow_unregistered()
                        .run();
      po::store(parsed, vm);
      po::notify(vm);
      flags = po::collect_unrecognized(parsed.options, po::exclude_positional);
    } catch (const po::error& e) {
      throw UsageError(e.what());
    }

    auto level = parseLogLevel(vm["log-level"].as<std::string>());
    if (!level) {
      throw UsageError("unknown log level '" + vm["log-level"].as<std::string>() +
                       "': use debug, info, warning or error");
    }
    log_level_ = *level;
    if (vm.count("plugin-path")) {
      for (const auto& p : vm["plugin-path"].as<std::vector<std::string>>()) {
        plugin_paths_.emplace_back(p);
      }
    }

    std::vector<std::string> words;
    if (vm.count("command")) {
      words.push_back(vm["command"].as<std::string>());
    }
    if (vm.count("args")) {
      const auto& args = vm["args"].as<std::vector<std::string>>();
      words.insert(words.end(), args.begin(), args.end());
    }

    if (vm.count("version")) {
      std::cout << versionLine() << "\n";
      return kExitOk;
    }
    if (!words.empty() && words[0] == "help") {
      words.erase(words.begin());
      return help(words, std::cout);
    }
    if (vm.count("help")) {
      return help(words, std::cout);
    }
    if (words.empty()) {
      std::cerr << overview(global);
      return kExitBadInput;
    }
    if (words[0] == "models") {
      return models(argc, argv);
    }
    if (words[0] == "datasets") {
      return datasets(argc, argv);
    }
    if (words[0] == "runs") {
      return runs(argc, argv);
    }
    if (words[0] == "tune") {
      return tune(argc, argv);
    }
    if (words[0] == "jobs") {
      return jobsCommand(argc, argv);
    }
    if (!isBuiltinCommandWord(words[0])) {
      return pluginCommand(argc, argv, words);
    }
    return dispatch(words, flags);
  }

 private:
  int dispatch(std::vector<std::string> words, const std::vector<std::string>& flags) {
    const std::string first = words[0];
    std::string name = first;
    if (first == "plugins" || first == "plugin") {
      if (words.size() < 2) {
        throw UsageError("'" + first + "' needs a subcommand: " +
                         (first == "plugins" ? "list, describe or reference" : "check"));
      }
      name = first + " " + words[1];
      words.erase(words.begin());
    }
    const CommandHelp* command = findCommand(name);
    if (command == nullptr) {
      std::vector<std::string> names;
      for (const auto& c : kCommands) {
        names.emplace_back(c.name);
      }
      names.emplace_back("plugins");
      names.emplace_back("plugin");
      std::string suggestion = closestMatch(name, names);
      throw UsageError("unknown command '" + name + "'" +
                       didYouMean(suggestion.empty() ? std::vector<std::string>{}
                                                     : std::vector<std::string>{suggestion}));
    }
    words.erase(words.begin());  // the arguments remain

    const bool json_allowed = name == "eval" || name == "plugins list" ||
                              name == "plugins describe" || name == "plugin check";
    bool json = false;
    std::string precision;
    for (const auto& flag : flags) {
      if (flag == "--json" && json_allowed) {
        json = true;
      } else if (flag.starts_with("--precision=") && name == "eval") {
        precision = flag.substr(std::string_view("--precision=").size());
        if (precision != "fp32" && precision != "bf16" && precision != "auto") {
          throw UsageError("--precision must be fp32, bf16 or auto, got '" + precision + "'");
        }
      } else {
        throw UsageError("unknown option '" + flag + "' for 'aimass " + name + "'");
      }
    }
    auto expectArguments = [&](std::size_t n, const char* what) {
      if (words.size() != n) {
        throw UsageError("'aimass " + name + "' takes " + what + " (usage: aimass " +
                         command->usage + ")");
      }
    };

    if (name == "validate") {
      expectArguments(1, "one CONFIG file");
      return validate(words[0]);
    }
    if (name == "run") {
      expectArguments(1, "one CONFIG file");
      return runGraph(words[0]);
    }
    if (name == "serve") {
      expectArguments(1, "one CONFIG file");
      return serveGraph(words[0]);
    }
    if (name == "eval") {
      expectArguments(1, "one CONFIG file");
      return evalGraph(words[0], json, precision);
    }
    if (name == "plugins list") {
      expectArguments(0, "no arguments");
      return pluginsList(json);
    }
    if (name == "plugins describe") {
      expectArguments(1, "one TYPE");
      return pluginsDescribe(words[0], json);
    }
    if (name == "plugins reference") {
      expectArguments(0, "no arguments");
      return pluginsReference();
    }
    expectArguments(1, "one LIB.so");
    return pluginCheck(words[0], json);
  }

  std::string overview(const po::options_description& global) {
    std::string out = "aimass " + std::string(hostVersion()) +
                      ": loads plugins and runs configuration graphs of storage, datasets,\n"
                      "models, optimizers, jobs and frontends.\n\n"
                      "Usage: aimass [global options] COMMAND [arguments]\n\nCommands:\n";
    for (const auto& command : kCommands) {
      out += commandLine(command.usage, command.summary);
    }
    // Commands the loaded plugins add, listed like the built-in ones.
    auto plugins = loadPlugins({}, false);
    for (const RegisteredCommand* command : plugins->registry.commands()) {
      out += commandLine(command->command.usage, command->command.summary);
    }
    out += "  help [COMMAND]" + std::string(32 - 14, ' ') + "Print this help, or a command's.\n";
    std::ostringstream options;
    options << global;
    out += "\n" + options.str();
    out +=
        "\nPlugin search (the first library to offer a type wins):\n"
        "  1. --plugin-path folders and libraries, in the order given\n"
        "  2. the configuration's `plugins:` entries (validate, run)\n"
        "  3. each folder of $AIMASS_PLUGIN_PATH (':'-separated)\n"
        "  4. <folder of the aimass executable>/../lib/aimass/plugins\n"
        "A library that fails a check is refused with its path and reason; "
        "the others load.\n"
        "\nExit codes:\n"
        "  0  success\n"
        "  1  runtime failure: a job failed or was cancelled, a frontend "
        "could not start,\n"
        "     a conformance check failed\n"
        "  2  bad input: usage, an invalid configuration, an unknown type, "
        "a refused library\n"
        "\nExamples:\n"
        "  aimass validate configs/quickstart.yaml\n"
        "  aimass run configs/quickstart.yaml\n"
        "  aimass eval configs/fashion_mnist_softmax.yaml\n"
        "  aimass models list --config configs/quickstart.yaml\n"
        "  aimass plugins list\n"
        "  aimass plugins describe model.softmax --json\n"
        "  aimass plugins reference > docs/config-reference.md\n"
        "  aimass plugin check "
        "build/lib/aimass/plugins/libaimass_storage_fs.so\n"
        "  AIMASS_PLUGIN_PATH=$HOME/my-plugins aimass plugins list\n"
        "\nRun 'aimass help COMMAND' for a command's details.\n";
    return out;
  }

  /// One command of the overview: its usage, then its summary in the second column.
  static std::string commandLine(const std::string& usage, const std::string& summary) {
    if (usage.size() < 32) {
      return "  " + usage + std::string(32 - usage.size(), ' ') + summary + "\n";
    }
    return "  " + usage + "\n" + std::string(34, ' ') + summary + "\n";
  }

  /// A command that is not built in: one a loaded plugin added (aimass/command.h).
  int pluginCommand(int argc, char** argv, const std::vector<std::string>& words) {
    auto plugins = loadPlugins({}, false);
    std::size_t name_words = 0;
    if (const RegisteredCommand* command =
            findPluginCommand(plugins->registry, words, name_words)) {
      return runPluginCommand(*command, commandArguments(argc, argv, name_words));
    }
    auto group = pluginCommandGroup(plugins->registry, words[0]);
    if (!group.empty() && words.size() == 1) {
      std::string names;
      for (const RegisteredCommand* command : group) {
        const std::string& name = command->command.name;
        names += (names.empty() ? "" : ", ") + name.substr(name.find(' ') + 1);
      }
      throw UsageError("'" + words[0] + "' needs a subcommand: " + names);
    }
    // Name what was typed as a command: the second word too when it reads like a subcommand.
    std::string name = words[0];
    if (words.size() > 1 && !words[1].empty() && words[1].front() >= 'a' &&
        words[1].front() <= 'z' &&
        words[1].find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos) {
      name += " " + words[1];
    }
    std::vector<std::string> names;
    for (const auto& c : kCommands) {
      names.emplace_back(c.name);
    }
    for (const RegisteredCommand* command : plugins->registry.commands()) {
      names.push_back(command->command.name);
    }
    std::string suggestion = closestMatch(name, names);
    if (!suggestion.empty()) {
      throw UsageError("unknown command '" + name + "'" + didYouMean({suggestion}));
    }
    throw UsageError("unknown command '" + name +
                     "': neither built in nor added by a loaded plugin (plugins are searched in "
                     "--plugin-path, $AIMASS_PLUGIN_PATH and " +
                     PluginLoader::defaultPluginDir().lexically_normal().string() + ")");
  }

  // The `--storage URI` forms of the storage plugins loaded now, as they declare them
  // (Registrar::addStorageUriScheme()): core names no storage engine of its own.
  void printStorageUriForms(std::ostream& out) {
    auto plugins = loadPlugins({}, false);
    out << "\nStorage URIs (--storage), from the loaded plugins:\n";
    const auto schemes = plugins->registry.uriSchemes();
    if (schemes.empty()) {
      out << "  none: no loaded plugin declares a URI scheme; use --config CONFIG\n";
    }
    for (const RegisteredUriScheme* declared : schemes) {
      out << "  " << declared->scheme.form << "  (" << declared->scheme.type << ")\n";
    }
  }

  int help(const std::vector<std::string>& words, std::ostream& out) {
    po::options_description global = globalOptions();
    if (words.empty()) {
      out << overview(global);
      return kExitOk;
    }
    std::string name = words[0];
    if ((name == "plugins" || name == "plugin") && words.size() > 1) {
      name += " " + words[1];
    }
    if (const CommandHelp* command = findCommand(name)) {
      out << "Usage: aimass [global options] " << command->usage << "\n\n"
          << command->summary << "\n\n"
          << command->details;
      if (name == "models" || name == "datasets" || name == "runs" || name == "tune") {
        printStorageUriForms(out);
      }
      return kExitOk;
    }
    if (!isBuiltinCommandWord(name)) {
      auto plugins = loadPlugins({}, false);
      std::size_t name_words = 0;
      if (const RegisteredCommand* command =
              findPluginCommand(plugins->registry, words, name_words)) {
        printPluginCommandHelp(*command, out);
        return kExitOk;
      }
      auto group = pluginCommandGroup(plugins->registry, name);
      for (const RegisteredCommand* command : group) {
        out << "  aimass " << command->command.usage << "\n      " << command->command.summary
            << "\n";
      }
      if (!group.empty()) {
        return kExitOk;
      }
    }
    if (name == "plugins" || name == "plugin") {
      for (const auto& command : kCommands) {
        if (std::string(command.name).rfind(name + " ", 0) == 0) {
          out << "  aimass " << command.usage << "\n      " << command.summary << "\n";
        }
      }
      return kExitOk;
    }
    throw UsageError("no help for unknown command '" + name + "'");
  }

  static po::options_description globalOptions() {
    po::options_description global("Global options");
    global.add_options()("help,h", "Print help (for a command: aimass COMMAND --help).")(
        "version", "Print the version, plugin ABI and toolchain.")(
        "plugin-path", po::value<std::vector<std::string>>()->composing(),
        "Also load plugins from this folder or library (repeatable); searched "
        "first.")("log-level", po::value<std::string>()->default_value("info"),
                  "Least severe log level shown: debug, info, warning or error.");
    return global;
  }

  // Built-in types, then --plugin-path, then `config_paths`,
  // $AIMASS_PLUGIN_PATH and the default folder. Refusals are warnings: the host
  // carries on with what it could load.
  std::unique_ptr<PluginSet> loadPlugins(const std::vector<fs::path>& config_paths,
                                         bool report_refusals) {
    auto plugins = std::make_unique<PluginSet>();
    registerBuiltinTypes(plugins->registry);
    for (const auto& path : plugin_paths_) {
      std::error_code ec;
      if (fs::is_directory(path, ec)) {
        plugins->loader.loadDirectory(path);
      } else if (fs::exists(path, ec)) {
        plugins->loader.load(path).ignoreError();  // recorded in failures()
      } else {
        warn("plugin path '" + fs::absolute(path, ec).lexically_normal().string() +
             "' (from --plugin-path) does not exist");
      }
    }
    plugins->loader.discover(config_paths);
    if (report_refusals) {
      for (const auto& failure : plugins->loader.failures()) {
        warn("plugin refused: " + failure.reason);
      }
    }
    return plugins;
  }

  void warn(const std::string& message) const {
    if (log_level_ <= LogLevel::kWarning) {
      std::cerr << "aimass: warning: " << message << "\n";
    }
  }

  // Reads, loads plugins for and validates a configuration. Null (after
  // printing why) when anything is wrong.
  std::unique_ptr<Graph> loadGraph(const std::string& file, std::unique_ptr<PluginSet>& plugins,
                                   std::optional<ConfigDocument>& document) {
    Diagnostics diagnostics;
    try {
      document = loadConfig(file, diagnostics);
    } catch (const YAML::Exception& e) {
      std::cerr << file << ":" << e.mark.line + 1 << ":" << e.mark.column + 1
                << ": error: " << e.msg << "\n";
      return nullptr;
    }
    if (!document || !diagnostics.empty()) {
      printDiagnostics(diagnostics, file);
      return nullptr;
    }
    plugins = loadPlugins(document->plugin_paths, true);
    auto graph = Graph::validate(*document, plugins->registry, diagnostics);
    if (!graph || !diagnostics.empty()) {
      printDiagnostics(diagnostics, file);
      return nullptr;
    }
    return graph;
  }

  static void printDiagnostics(const Diagnostics& diagnostics, const std::string& file) {
    if (diagnostics.empty()) {
      std::cerr << file << ": error: the configuration could not be read\n";
      return;
    }
    std::cerr << formatDiagnostics(diagnostics) << "\n"
              << diagnostics.size() << (diagnostics.size() == 1 ? " error" : " errors") << " in "
              << file << "\n";
  }

  int validate(const std::string& file) {
    std::unique_ptr<PluginSet> plugins;
    std::optional<ConfigDocument> document;
    auto graph = loadGraph(file, plugins, document);
    if (!graph) {
      return kExitBadInput;
    }
    std::cout << file << ": ok (" << graph->nodes().size()
              << (graph->nodes().size() == 1 ? " node" : " nodes") << ")\n";
    return kExitOk;
  }

  // Loads `file` and runs `body(graph, host, watcher)` with SIGINT/SIGTERM blocked and watched
  // (the mask is set before any thread exists, so every thread inherits it and only the watcher
  // receives them). `body` runs the graph through a Runtime, which lets go of the graph's models
  // when it ends; the nodes then go, in reverse dependency order, while the host and the
  // plugins are still there.
  template <typename Body>
  int onGraph(const std::string& file, Body body) {
    BlockedSignals blocked;
    std::unique_ptr<PluginSet> plugins;
    std::optional<ConfigDocument> document;
    auto graph = loadGraph(file, plugins, document);
    if (!graph) {
      return kExitBadInput;
    }
    int threads = document->threads.value_or(
        static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    HostServices host(document->base_dir, threads);
    host.setLogLevel(log_level_);
    SignalWatcher watcher(host);
    int code = body(*graph, host, watcher);
    graph.reset();
    return code;
  }

  int runGraph(const std::string& file) {
    return onGraph(file, [this](Graph& graph, HostServices& host, SignalWatcher& watcher) {
      return runInstantiated(graph, host, watcher);
    });
  }

  // `aimass serve`: runGraph for a graph that serves; one that would just end is refused.
  int serveGraph(const std::string& file) {
    return onGraph(file, [this, &file](Graph& graph, HostServices& host, SignalWatcher& watcher) {
      const bool serves = std::any_of(graph.nodes().begin(), graph.nodes().end(),
                                      [](const GraphNode& node) {
                                        const NodeKind kind = node.type->type.kind;
                                        return kind == NodeKind::kFrontend ||
                                               kind == NodeKind::kService;
                                      });
      if (!serves) {
        std::cerr << "aimass: " << file
                  << " has no frontend or service node, so there is nothing to serve: add a "
                     "frontend (frontend.http) or a service (service.jobs), or use `aimass run "
                  << file << "` for a graph that ends\n";
        return kExitBadInput;
      }
      return runInstantiated(graph, host, watcher);
    });
  }

  // `aimass eval`: like runGraph, but the evaluation module runs the jobs and prints reports.
  int evalGraph(const std::string& file, bool json, const std::string& precision) {
    return onGraph(file, [json, &precision](Graph& graph, HostServices& host, SignalWatcher&) {
      return runEvaluation(graph, host, json, std::cout, std::cerr, precision);
    });
  }

  // Hands the graph to the runtime with the console's progress display and a wait for
  // SIGINT/SIGTERM, and prints how it ended.
  int runInstantiated(Graph& graph, HostServices& host, SignalWatcher& watcher) {
    Runtime::Hooks hooks;
    hooks.progress = Runtime::consoleProgress(host, std::cerr);
    hooks.wait_for_stop = [&watcher] { watcher.waitForStop(); };
    hooks.frontend_started = [](std::string_view, std::string_view endpoint) {
      std::cerr << "serving " << endpoint << "\n";
    };
    Status status = Runtime(graph, host, std::move(hooks)).run();
    if (status.code() == StatusCode::kCancelled) {
      std::cerr << "cancelled\n";
      return kExitFailure;
    }
    if (!status.ok()) {
      std::cerr << "aimass: " << status.message() << "\n";
      return kExitFailure;
    }
    return kExitOk;
  }

  // `aimass models|datasets|runs ...`: their options take values, so each reads the words after
  // its command itself (the global options before it were read by run()), opens the store the
  // command names, and runs it on a `Service` (registry or tracking) of that store.
  template <typename Service, typename Parse, typename Execute>
  int storeCommand(int argc, char** argv, std::string_view name, Parse parse, Execute execute) {
    auto command = parse(wordsAfter(argc, argv, name));
    if (!command.ok()) {
      throw UsageError(command.status().message());
    }
    int code = kExitOk;
    auto store = openStore(command->config, command->storage_uri, command->storage_node, code);
    if (!store) {
      return code;
    }
    Service service(*store->storage);
    return execute(*command, service, std::cout, std::cerr);
  }

  // The words after the command word `name` (the global options before it skipped).
  static std::vector<std::string> wordsAfter(int argc, char** argv, std::string_view name) {
    int first = 1;
    while (first < argc && std::string_view(argv[first]) != name) {
      const std::string_view word = argv[first];
      first += (word == "--log-level" || word == "--plugin-path") ? 2 : 1;
    }
    return std::vector<std::string>(argv + std::min(first + 1, argc), argv + argc);
  }

  int models(int argc, char** argv) {
    if (isDriftReportCommand(wordsAfter(argc, argv, "models"))) {  // drift_report_cli.h
      return storeCommand<std::reference_wrapper<Storage>>(argc, argv, "models",
                                                           parseDriftReportCommand,
                                                           runDriftReportCommand);
    }
    if (isPayloadsCommand(wordsAfter(argc, argv, "models"))) {  // monitoring/payloads_cli.h
      return storeCommand<std::reference_wrapper<Storage>>(argc, argv, "models",
                                                           parsePayloadsCommand,
                                                           runPayloadsCommand);
    }
    return storeCommand<ModelRegistry>(argc, argv, "models", parseModelsCommand, runModelsCommand);
  }

  /// A registry command's store and everything that must outlive it.
  struct OpenedStore {
    std::unique_ptr<PluginSet> plugins;
    std::optional<ConfigDocument> document;
    std::unique_ptr<Graph> graph;
    std::unique_ptr<HostServices> host;
    std::shared_ptr<Storage> storage;  // last: released first
  };

  // The store of a registry command: the storage node of `config` (`storage_node`, or the first
  // one; only that node is created), or the store `storage_uri` names (storage_uri.h). Null
  // after printing why, with `exit_code` set: 2 for a bad configuration or URI, 1 when the
  // store cannot be opened.
  std::unique_ptr<OpenedStore> openStore(const std::string& config, const std::string& storage_uri,
                                         const std::string& storage_node, int& exit_code) {
    auto store = std::make_unique<OpenedStore>();
    Expected<std::shared_ptr<Storage>> storage = internalError("no store");
    if (!storage_uri.empty()) {
      store->plugins = loadPlugins({}, true);
      store->host = std::make_unique<HostServices>(fs::current_path(), 1);
      store->host->setLogLevel(log_level_);
      storage = openStorageUri(storage_uri, store->plugins->registry, *store->host,
                               fs::current_path());
    } else {
      store->graph = loadGraph(config, store->plugins, store->document);
      if (!store->graph) {
        exit_code = kExitBadInput;
        return nullptr;
      }
      store->host = std::make_unique<HostServices>(store->document->base_dir, 1);
      store->host->setLogLevel(log_level_);
      storage = openGraphStorage(*store->graph, *store->host, storage_node);
    }
    if (!storage.ok()) {
      std::cerr << "aimass: " << storage.status().message() << "\n";
      const StatusCode code = storage.status().code();
      exit_code = code == StatusCode::kNotFound || code == StatusCode::kInvalidArgument
                      ? kExitBadInput
                      : kExitFailure;
      return nullptr;
    }
    store->storage = std::move(storage).value();
    return store;
  }

  int datasets(int argc, char** argv) {
    return storeCommand<DatasetRegistry>(argc, argv, "datasets", parseDatasetsCommand,
                                         runDatasetsCommand);
  }

  // `aimass tune worker ...`: one trial of a job.tune, in the process the tuner started for it
  // (TrialProcess). Its stderr goes to the tuner, which keeps the last lines for a failure.
  int tuneWorker(int argc, char** argv) {
    std::vector<std::string> words = wordsAfter(argc, argv, "tune");
    words.erase(words.begin());  // "worker"
    auto options = parseTrialWorkerOptions(words);
    if (!options.ok()) {
      throw UsageError(options.status().message());
    }
    std::unique_ptr<PluginSet> plugins;
    std::optional<ConfigDocument> document;
    auto graph = loadGraph(options->config.string(), plugins, document);
    if (!graph) {
      return kExitBadInput;
    }
    return runTrialWorker(*options, *graph, log_level_);
  }

  // `aimass jobs ...` (jobs/jobs_cli.h): the store and settings of the service.jobs node of
  // --config; `jobs worker` (internal) runs one job for the service.
  int jobsCommand(int argc, char** argv) {
    std::vector<std::string> words = wordsAfter(argc, argv, "jobs");
    if (!words.empty() && words.front() == "worker") {
      return jobWorker({words.begin() + 1, words.end()});
    }
    auto command = jobs::parseJobsCommand(words);
    if (!command.ok()) {
      throw UsageError(command.status().message());
    }
    std::unique_ptr<PluginSet> plugins;
    std::optional<ConfigDocument> document;
    auto graph = loadGraph(command->config, plugins, document);
    if (!graph) {
      return kExitBadInput;
    }
    const GraphNode* service = nullptr;
    for (const GraphNode& node : graph->nodes()) {
      if (node.type->type.type == jobs::kJobsServiceType) service = &node;
    }
    if (service == nullptr) {
      std::cerr << "aimass: " << command->config << " has no service.jobs node\n";
      return kExitBadInput;
    }
    NodeConfig settings(service->decl.name, service->type->type.type, nullptr);
    for (const auto& [name, value] : service->values) settings.setValue(name, value);
    auto options = jobs::readJobServiceOptions(settings, service->decl.name);
    if (!options.ok()) {
      std::cerr << "aimass: " << options.status().message() << "\n";
      return kExitBadInput;
    }
    std::string storage_node;
    for (const auto& [param, targets] : service->refs) {
      if (param == "storage" && !targets.empty()) storage_node = targets.front();
    }
    HostServices host(document->base_dir, 1);
    host.setLogLevel(log_level_);
    auto storage = openGraphStorage(*graph, host, storage_node);
    if (!storage.ok()) {
      std::cerr << "aimass: " << storage.status().message() << "\n";
      return kExitFailure;
    }
    jobs::JobStore store(*storage);
    jobs::ScheduleStore schedules(*storage);
    jobs::JobsContext context{&store, storage->get(), &*options,
                              jobs::graphCheckFor(plugins->registry), &schedules};
    return jobs::runJobsCommand(*command, context, std::cout, std::cerr);
  }

  // `aimass jobs worker`: started by the job service for one job. Limits itself, then runs the
  // graph as `aimass run` does, its relative paths resolving in the working folder.
  int jobWorker(const std::vector<std::string>& words) {
    auto options = jobs::parseWorkerOptions(words);
    if (!options.ok()) {
      throw UsageError(options.status().message());
    }
    if (Status prepared = jobs::prepareWorker(options->parent); !prepared.ok()) {
      std::cerr << "aimass jobs worker: " << prepared.message() << "\n";
      return kExitFailure;
    }
    std::ifstream in(options->file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) {
      std::cerr << "aimass jobs worker: cannot read " << options->file << "\n";
      return kExitFailure;
    }
    const char* name = std::getenv("AIMASS_JOB_CONFIG_NAME");
    const std::string config_name = name != nullptr && *name != '\0' ? name : options->file;
    BlockedSignals blocked;
    Diagnostics diagnostics;
    auto document = loadConfigFromString(text.str(), config_name, fs::current_path(), diagnostics);
    if (!document || !diagnostics.empty()) {
      printDiagnostics(diagnostics, config_name);
      return kExitBadInput;
    }
    auto plugins = loadPlugins(document->plugin_paths, true);
    if (Status limited = jobs::limitWorkerMemory(options->memory_bytes); !limited.ok()) {
      std::cerr << "aimass jobs worker: " << limited.message() << "\n";
      return kExitFailure;
    }
    auto graph = Graph::validate(*document, plugins->registry, diagnostics);
    if (!graph || !diagnostics.empty()) {
      printDiagnostics(diagnostics, config_name);
      return kExitBadInput;
    }
    HostServices host(document->base_dir, options->threads);
    host.setLogLevel(log_level_);
    SignalWatcher watcher(host);
    const int code = runInstantiated(*graph, host, watcher);
    graph.reset();
    return code;
  }

  int runs(int argc, char** argv) {
    return storeCommand<RunsStore>(argc, argv, "runs", parseRunsCommand, runRunsCommand);
  }

  // `aimass tune ACTION ...`: list and show read the studies of a store (tune/tune_cli.h), only
  // through the Storage interface. Further actions dispatch here on `action`.
  int tune(int argc, char** argv) {
    const std::string action = tuneAction(wordsAfter(argc, argv, "tune"));
    if (action == "list" || action == "show") {
      return storeCommand<std::reference_wrapper<Storage>>(argc, argv, "tune", parseTuneCommand,
                                                           runTuneCommand);
    }
    if (action == "worker") {
      return tuneWorker(argc, argv);  // internal: one trial, started by job.tune
    }
    throw UsageError(action.empty() ? "'tune' needs a subcommand: list or show"
                                    : "unknown subcommand 'tune " + action + "': use list or show");
  }

  int pluginsList(bool json) {
    auto plugins = loadPlugins({}, false);
    const auto& failures = plugins->loader.failures();
    if (json) {
      std::cout << typesJson(plugins->registry);
      for (const auto& failure : failures) {
        std::cerr << "aimass: warning: plugin refused: " << failure.reason << "\n";
      }
      return kExitOk;
    }
    std::cout << typeTable(plugins->registry);
    if (!failures.empty()) {
      std::cout << "\nrefused libraries:\n";
      for (const auto& failure : failures) {
        std::cout << "  " << failure.reason << "\n";
      }
    }
    return kExitOk;
  }

  int pluginsDescribe(const std::string& type, bool json) {
    auto plugins = loadPlugins({}, true);
    const RegisteredType* found = plugins->registry.find(type);
    if (found == nullptr) {
      std::cerr << "aimass: unknown node type '" << type << "'"
                << didYouMean(plugins->registry.suggest(type)) << "\n";
      return kExitBadInput;
    }
    std::cout << (json ? describeTypeJson(*found) : describeType(*found));
    return kExitOk;
  }

  int pluginsReference() {
    auto plugins = loadPlugins({}, true);
    std::cout << configReference(plugins->registry);
    return kExitOk;
  }

  int pluginCheck(const std::string& library, bool json) {
    PluginCheckReport report = checkPlugin(library, log_level_);
    if (!report.refusal.ok()) {
      std::cerr << "aimass: " << report.refusal.message() << "\n";
      if (json) {
        std::cout << pluginCheckJson(report);
      }
      return kExitBadInput;
    }
    std::cout << (json ? pluginCheckJson(report) : formatPluginCheck(report));
    return report.passed() ? kExitOk : kExitFailure;
  }

  LogLevel log_level_ = LogLevel::kInfo;
  std::vector<fs::path> plugin_paths_;
};

}  // namespace

int storeCommandExit(const Status& status, std::ostream& err) {
  if (status.ok()) {
    return kExitOk;
  }
  err << "aimass: " << status.message() << "\n";
  switch (status.code()) {
    case StatusCode::kNotFound:
    case StatusCode::kInvalidArgument:
    case StatusCode::kFailedPrecondition:
      return kExitBadInput;
    default:
      return kExitFailure;
  }
}

Status checkStoreChoice(const std::string& command, std::string_view holds,
                        const std::string& config, const std::string& storage_uri,
                        const std::string& storage_node) {
  if (config.empty() == storage_uri.empty()) {
    return invalidArgument("'aimass " + command + "' needs " +
                           (config.empty() ? "" : "only one of ") +
                           "--config CONFIG or --storage URI to say which storage holds the " +
                           std::string(holds));
  }
  if (!storage_uri.empty() && !storage_node.empty()) {
    return invalidArgument(
        "--storage-node picks a node of --config; it does not go with --storage");
  }
  return Status();
}

int runCli(int argc, char** argv) {
  try {
    return Cli().run(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "aimass: " << e.what() << "\nRun 'aimass --help' for usage.\n";
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "aimass: " << e.what() << "\n";
    return kExitFailure;
  } catch (...) {
    std::cerr << "aimass: unknown error\n";
    return kExitFailure;
  }
}

}  // namespace aimass::core
