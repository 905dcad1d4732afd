// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/plugin_loader.h"

#include <dlfcn.h>

#include <algorithm>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <exception>
#include <map>
#include <string>
#include <system_error>
#include <utility>

namespace aimass::core {
namespace fs = std::filesystem;

namespace {

using LibraryHandle = std::shared_ptr<boost::dll::shared_library>;

std::string versionText(std::uint32_t major, std::uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

// The dlerror() text without the leading "<path>: " that glibc puts in front of it, since our
// message names the path already.
std::string loaderError(const std::string& path, const std::error_code& ec) {
  const char* text = dlerror();
  std::string message = text ? text : ec.message();
  if (message.rfind(path + ": ", 0) == 0) {
    message.erase(0, path.size() + 2);
  }
  return message;
}

// Stages the types a plugin registers so that a refused library adds none of them: every type
// is checked (shape, clashes with the registry, clashes within the batch) as the plugin adds
// it, and only a fully clean batch is committed.
class StagingRegistrar final : public Registrar {
 public:
  explicit StagingRegistrar(const TypeRegistry& registry) : registry_(registry) {}

  Status add(NodeType type) override {
    Status status = guard("adding a node type", [&] { return stage(std::move(type)); });
    if (!status.ok() && first_error_.ok()) {
      first_error_ = status;
    }
    return status;
  }

  Status addStorageUriScheme(StorageUriScheme scheme) override {
    Status status = guard("declaring URI schemes", [&] { return stageScheme(std::move(scheme)); });
    if (!status.ok() && first_error_.ok()) {
      first_error_ = status;
    }
    return status;
  }

  Status addCommand(CliCommand command) override {
    Status status = guard("adding a command", [&] { return stageCommand(std::move(command)); });
    if (!status.ok() && first_error_.ok()) {
      first_error_ = status;
    }
    return status;
  }

  /// The checks that need every type of the batch: each scheme declaration names a storage
  /// type of this plugin.
  Status checkSchemes() const {
    for (const auto& scheme : staged_schemes_) {
      const NodeType* type = nullptr;
      for (const auto& staged : staged_) {
        if (staged.type == scheme.type) {
          type = &staged;
        }
      }
      if (type == nullptr) {
        return invalidArgument("the URI schemes of '" + scheme.type +
                               "' name a type the plugin does not register");
      }
      AIMASS_RETURN_IF_ERROR(TypeRegistry::validateUriScheme(scheme, type));
    }
    return okStatus();
  }

  const Status& firstError() const { return first_error_; }
  std::vector<NodeType>& staged() { return staged_; }
  std::vector<StorageUriScheme>& stagedSchemes() { return staged_schemes_; }
  std::vector<CliCommand>& stagedCommands() { return staged_commands_; }

 private:
  Status stage(NodeType type) {
    AIMASS_RETURN_IF_ERROR(TypeRegistry::validateType(type));
    if (const auto* existing = registry_.find(type.type)) {
      std::string owner = existing->plugin ? existing->plugin->name : "unknown";
      std::string where = existing->plugin && !existing->plugin->library.empty()
                              ? existing->plugin->library
                              : "built in";
      return alreadyExists("type '" + type.type + "' is already registered by plugin '" + owner +
                           "' (" + where + ")");
    }
    for (const auto& other : staged_) {
      if (other.type == type.type) {
        return alreadyExists("type '" + type.type + "' is registered twice by this plugin");
      }
    }
    staged_.push_back(std::move(type));
    return okStatus();
  }

  Status stageCommand(CliCommand command) {
    AIMASS_RETURN_IF_ERROR(TypeRegistry::validateCommand(command));
    if (const RegisteredCommand* owner = registry_.findCommand(command.name)) {
      return alreadyExists("command '" + command.name + "' is already added by plugin '" +
                           (owner->plugin ? owner->plugin->name : std::string("builtin")) + "'");
    }
    for (const auto& other : staged_commands_) {
      if (other.name == command.name) {
        return alreadyExists("command '" + command.name + "' is added twice by this plugin");
      }
    }
    staged_commands_.push_back(std::move(command));
    return okStatus();
  }

  Status stageScheme(StorageUriScheme scheme) {
    // The type is checked by checkSchemes(), once the plugin has added all of its types.
    AIMASS_RETURN_IF_ERROR(TypeRegistry::validateUriScheme(scheme, nullptr));
    for (const auto& name : scheme.schemes) {
      if (const RegisteredUriScheme* owner = registry_.findUriScheme(name)) {
        return alreadyExists("URI scheme '" + name + "' is already declared by plugin '" +
                             (owner->plugin ? owner->plugin->name : std::string("builtin")) + "'");
      }
      for (const auto& other : staged_schemes_) {
        for (const auto& taken : other.schemes) {
          if (taken == name) {
            return alreadyExists("URI scheme '" + name + "' is declared twice by this plugin");
          }
        }
      }
    }
    staged_schemes_.push_back(std::move(scheme));
    return okStatus();
  }

  const TypeRegistry& registry_;
  std::vector<NodeType> staged_;
  std::vector<StorageUriScheme> staged_schemes_;
  std::vector<CliCommand> staged_commands_;
  Status first_error_;
};

}  // namespace

struct PluginLoader::Impl {
  /// Libraries loaded and registered, by canonical path.
  std::map<std::string, LibraryHandle> libraries;
  /// Libraries refused, by canonical path, so a second attempt answers the same.
  std::map<std::string, Status> refused;
};

PluginLoader::PluginLoader(TypeRegistry& registry)
    : impl_(std::make_unique<Impl>()), registry_(registry) {}

PluginLoader::~PluginLoader() = default;

Status PluginLoader::load(const fs::path& library) {
  std::error_code ec;
  fs::path canonical = fs::canonical(library, ec);
  if (ec) {
    fs::path shown = fs::absolute(library, ec).lexically_normal();
    std::string path = shown.string();
    if (impl_->refused.count(path)) {
      return impl_->refused[path];
    }
    Status status = invalidArgument("cannot load '" + path + "': no such file");
    impl_->refused[path] = status;
    failures_.push_back({path, status.message()});
    return status;
  }
  const std::string path = canonical.string();
  if (impl_->libraries.count(path)) {
    return okStatus();
  }
  if (auto it = impl_->refused.find(path); it != impl_->refused.end()) {
    return it->second;
  }

  auto refuse = [&](Status status) {
    impl_->refused[path] = status;
    failures_.push_back({path, status.message()});
    return status;
  };

  // The handle outlives everything below that may hold code from the library (staged types,
  // exception objects), so it is declared first.
  auto handle = std::make_shared<boost::dll::shared_library>();
  {
    std::error_code load_error;
    dlerror();  // clear any stale message
    handle->load(canonical, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local,
                 load_error);
    if (load_error || !handle->is_loaded()) {
      return refuse(
          invalidArgument("cannot load '" + path + "': " + loaderError(path, load_error)));
    }
  }
  if (!handle->has(AIMASS_PLUGIN_ENTRY_NAME)) {
    return refuse(invalidArgument(
        "'" + path + "' has no '" AIMASS_PLUGIN_ENTRY_NAME "' symbol: is it an aimass plugin?"));
  }

  const AimassPluginDescriptor* descriptor = nullptr;
  std::string entry_error;
  try {
    auto& entry = handle->get_alias<const AimassPluginDescriptor*()>(AIMASS_PLUGIN_ENTRY_NAME);
    descriptor = entry();
  } catch (const std::exception& e) {
    entry_error = e.what();
  } catch (...) {
    entry_error = "unknown exception";
  }
  if (!entry_error.empty()) {
    return refuse(internalError("'" + path + "': entry point threw: " + entry_error));
  }
  if (descriptor == nullptr) {
    return refuse(invalidArgument("'" + path + "': entry point returned no descriptor"));
  }

  auto info = std::make_shared<PluginInfo>();
  info->name = descriptor->name ? descriptor->name : "";
  info->version = descriptor->version ? descriptor->version : "";
  info->summary = descriptor->summary ? descriptor->summary : "";
  info->library = path;
  info->abi_major = descriptor->abi_major;
  info->abi_minor = descriptor->abi_minor;
  info->toolchain = descriptor->toolchain ? descriptor->toolchain : "";

  const std::string who = "'" + path + "' (plugin '" + info->name + "'" +
                          (info->version.empty() ? std::string() : " " + info->version) + ")";
  const std::string plugin_abi = versionText(info->abi_major, info->abi_minor);
  const std::string host_abi = versionText(AIMASS_ABI_MAJOR, AIMASS_ABI_MINOR);

  if (info->name.empty()) {
    return refuse(invalidArgument("'" + path + "': descriptor has no plugin name"));
  }
  if (info->abi_major != AIMASS_ABI_MAJOR) {
    return refuse(failedPrecondition(who + " was built for plugin ABI " + plugin_abi +
                                     ", but this host supports " + host_abi +
                                     ": major versions differ"));
  }
  if (info->abi_minor > AIMASS_ABI_MINOR) {
    return refuse(failedPrecondition(who + " was built for plugin ABI " + plugin_abi +
                                     ", newer than this host's " + host_abi));
  }
  if (info->toolchain != AIMASS_TOOLCHAIN_TAG) {
    return refuse(failedPrecondition(who + " was built with toolchain '" + info->toolchain +
                                     "', but this host uses '" AIMASS_TOOLCHAIN_TAG "'"));
  }
  if (descriptor->register_types == nullptr) {
    return refuse(invalidArgument(who + " has no register callback"));
  }

  StagingRegistrar registrar(registry_);
  Status registered;
  std::string register_error;
  try {
    registered = descriptor->register_types(registrar);
  } catch (const std::exception& e) {
    register_error = e.what();
  } catch (...) {
    register_error = "unknown exception";
  }
  if (!register_error.empty()) {
    return refuse(internalError(who + ": register_types threw: " + register_error));
  }
  if (!registrar.firstError().ok()) {
    const Status& first = registrar.firstError();
    return refuse(Status(first.code(), who + ": " + first.message()));
  }
  if (!registered.ok()) {
    return refuse(
        Status(registered.code(), who + ": register_types failed: " + registered.toString()));
  }

  if (Status schemes = registrar.checkSchemes(); !schemes.ok()) {
    return refuse(Status(schemes.code(), who + ": " + schemes.message()));
  }

  std::shared_ptr<const PluginInfo> shared_info = info;
  for (auto& type : registrar.staged()) {
    // Cannot fail: every type was validated against the registry and the batch while staged.
    registry_.add(std::move(type), shared_info, handle).ignoreError();
  }
  for (auto& scheme : registrar.stagedSchemes()) {
    // Cannot fail either: checked against the registry, the batch and the types above.
    registry_.addUriScheme(std::move(scheme), shared_info, handle).ignoreError();
  }
  for (auto& command : registrar.stagedCommands()) {
    // Cannot fail either: checked against the registry and the batch.
    registry_.addCommand(std::move(command), shared_info, handle).ignoreError();
  }
  impl_->libraries[path] = handle;
  loaded_.push_back(std::move(shared_info));
  return okStatus();
}

void PluginLoader::loadDirectory(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return;
  }
  std::vector<fs::path> libraries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const bool plugin_name = name.rfind("libaimass_", 0) == 0 && name.size() > 3 &&
                             name.compare(name.size() - 3, 3, ".so") == 0;
    std::error_code status_error;
    if (plugin_name && fs::is_regular_file(it->path(), status_error)) {
      libraries.push_back(it->path());
    }
  }
  std::sort(libraries.begin(), libraries.end(), [](const fs::path& a, const fs::path& b) {
    return a.filename().string() < b.filename().string();
  });
  for (const auto& library : libraries) {
    load(library).ignoreError();  // recorded in failures()
  }
}

void PluginLoader::discover(const std::vector<fs::path>& config_paths) {
  auto visit = [&](const fs::path& path, std::string_view origin) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      loadDirectory(path);
    } else if (fs::exists(path, ec)) {
      load(path).ignoreError();
    } else {
      std::string shown = fs::absolute(path, ec).lexically_normal().string();
      failures_.push_back(
          {shown, "plugin path '" + shown + "' (" + std::string(origin) + ") does not exist"});
    }
  };
  for (const auto& path : config_paths) {
    visit(path, "from the configuration");
  }
  if (const char* env = std::getenv("AIMASS_PLUGIN_PATH")) {
    std::string_view rest = env;
    while (!rest.empty()) {
      auto colon = rest.find(':');
      std::string_view entry = rest.substr(0, colon);
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
      if (!entry.empty()) {
        visit(fs::path(entry), "from AIMASS_PLUGIN_PATH");
      }
    }
  }
  loadDirectory(defaultPluginDir());
}

fs::path PluginLoader::defaultPluginDir() {
  std::error_code ec;
  fs::path program = boost::dll::program_location(ec);
  if (ec || program.empty()) {
    program = fs::read_symlink("/proc/self/exe", ec);
  }
  return (program.parent_path() / ".." / "lib" / "aimass" / "plugins").lexically_normal();
}

}  // namespace aimass::core
