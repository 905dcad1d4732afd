// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/storage_uri.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "aimass/core/graph.h"
#include "aimass/params.h"
#include "record_text.h"

namespace aimass::core {

namespace fs = std::filesystem;

namespace {

/// The URI with any password ("user:secret@") hidden, for messages.
std::string shown(std::string_view uri) {
  std::string text(uri);
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string::npos) {
    return text;
  }
  const auto authority = scheme_end + 3;
  const auto at = text.find('@', authority);
  const auto slash = text.find('/', authority);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) {
    return text;
  }
  const auto colon = text.find(':', authority);
  if (colon != std::string::npos && colon < at) {
    text.replace(colon + 1, at - colon - 1, "***");
  }
  return text;
}

Status bad(std::string_view uri, const std::string& why) {
  return invalidArgument("storage URI '" + shown(uri) + "': " + why);
}

/// "a=1&b=x" as ordered pairs; kInvalidArgument for an empty name, a missing '=' or a repeat.
Expected<std::vector<std::pair<std::string, std::string>>> parseQuery(std::string_view uri,
                                                                      std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t start = 0;
  while (start <= query.size()) {
    auto end = query.find('&', start);
    if (end == std::string_view::npos) {
      end = query.size();
    }
    const std::string_view item = query.substr(start, end - start);
    const auto eq = item.find('=');
    if (item.empty() || eq == std::string_view::npos || eq == 0) {
      return bad(uri, "malformed query '" + std::string(query) +
                          "': expected NAME=VALUE pairs separated by '&'");
    }
    auto value = record::unescape(item.substr(eq + 1));
    if (!value) {
      return bad(uri,
                 "bad %-escape in the query value of '" + std::string(item.substr(0, eq)) + "'");
    }
    std::string name(item.substr(0, eq));
    for (const auto& [seen, unused] : out) {
      if (seen == name) {
        return bad(uri, "the query sets '" + name + "' twice");
      }
    }
    out.emplace_back(std::move(name), std::move(*value));
    start = end + 1;
  }
  return out;
}

/// A scheme with a `path_param`: a local path, absolute or relative to `base_dir`; the query's
/// options set other parameters.
Expected<StorageUri> mapLocalPath(std::string_view uri, const StorageUriScheme& declared,
                                  const StorageUriParts& parts, const fs::path& base_dir) {
  const std::string& scheme = parts.scheme;
  if (parts.has_authority && !parts.authority.empty() && parts.authority != "localhost") {
    return bad(uri, "a " + scheme + " URI names a local path and takes no host ('" +
                        parts.authority + "'); write " + scheme +
                        ":///abs/path (three slashes) or " + scheme + ":relative/path");
  }
  if (parts.path.empty()) {
    return bad(uri, "no path; write " + scheme + ":///abs/path or " + scheme + ":relative/path");
  }
  auto decoded = record::unescape(parts.path);
  if (!decoded) {
    return bad(uri, "bad %-escape in the path (write '%' as %25)");
  }
  if (decoded->find('\0') != std::string::npos) {
    return bad(uri, "the path contains a NUL byte");
  }
  fs::path resolved(*decoded);
  if (resolved.is_relative()) {
    resolved = base_dir / resolved;
  }
  StorageUri out;
  out.type = declared.type;
  out.path_param = declared.path_param;
  out.params.emplace_back(declared.path_param, resolved.lexically_normal().string());
  for (const auto& option : parts.query) {
    if (option.first == declared.path_param) {
      return bad(uri, "the " + option.first + " is part of the URI, not a query option");
    }
    out.params.push_back(option);
  }
  return out;
}

/// The schemes the loaded plugins declare, for errors: "file, fs, postgresql, ...".
std::string knownSchemes(const TypeRegistry& registry) {
  std::string out;
  for (const auto* declared : registry.uriSchemes()) {
    for (const auto& name : declared->scheme.schemes) {
      out += (out.empty() ? "" : ", ") + name;
    }
  }
  return out.empty() ? std::string("none (no loaded plugin declares a storage URI scheme)") : out;
}

}  // namespace

std::string storageUriForms(const TypeRegistry& registry) {
  std::size_t width = 0;
  for (const auto* declared : registry.uriSchemes()) {
    width = std::max(width, declared->scheme.form.size());
  }
  std::string out;
  for (const auto* declared : registry.uriSchemes()) {
    out += "  " + declared->scheme.form +
           std::string(width - declared->scheme.form.size() + 3, ' ') + declared->scheme.type +
           "\n";
  }
  return out;
}

Expected<StorageUri> parseStorageUri(std::string_view uri, const TypeRegistry& registry,
                                     const fs::path& base_dir) {
  const auto colon = uri.find(':');
  std::string_view scheme_text =
      colon == std::string_view::npos ? std::string_view() : uri.substr(0, colon);
  const bool scheme_ok = !scheme_text.empty() &&
                         std::isalpha(static_cast<unsigned char>(scheme_text.front())) &&
                         scheme_text.find_first_not_of(
                             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") ==
                             std::string_view::npos;
  if (!scheme_ok) {
    return bad(uri, "not a URI (no SCHEME: at the start); storage URIs look like\n" +
                        storageUriForms(registry));
  }
  StorageUriParts parts;
  parts.uri = std::string(uri);
  parts.scheme = std::string(scheme_text);
  std::transform(parts.scheme.begin(), parts.scheme.end(), parts.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const RegisteredUriScheme* declared = registry.findUriScheme(parts.scheme);
  if (declared == nullptr) {
    return bad(uri, "unknown scheme '" + std::string(scheme_text) +
                        "'; known schemes: " + knownSchemes(registry));
  }
  std::string_view rest = uri.substr(colon + 1);
  parts.without_query = std::string(uri);
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    auto options = parseQuery(uri, rest.substr(q + 1));
    AIMASS_RETURN_IF_ERROR(options.status());
    parts.query = std::move(options).value();
    rest = rest.substr(0, q);
    parts.without_query = std::string(uri.substr(0, colon + 1 + q));
  }
  if (rest.starts_with("//")) {
    const std::string_view after = rest.substr(2);
    const auto slash = after.find('/');
    parts.has_authority = true;
    parts.authority = std::string(after.substr(0, slash));
    parts.path = slash == std::string_view::npos ? std::string() : std::string(after.substr(slash));
  } else {
    parts.path = std::string(rest);
  }
  if (!declared->scheme.path_param.empty()) {
    return mapLocalPath(uri, declared->scheme, parts, base_dir);
  }
  Expected<std::vector<std::pair<std::string, std::string>>> mapped =
      internalError("no mapping ran");
  const std::string plugin = declared->plugin ? declared->plugin->name : std::string("builtin");
  Status status = guard("the URI mapping of plugin '" + plugin + "'", [&]() -> Status {
    mapped = declared->scheme.map(parts);
    return okStatus();
  });
  AIMASS_RETURN_IF_ERROR(status.ok() ? okStatus() : bad(uri, status.message()));
  if (!mapped.ok()) {
    return Status(mapped.status().code(),
                  "storage URI '" + shown(uri) + "': " + mapped.status().message());
  }
  return StorageUri{declared->scheme.type, std::move(mapped).value(), {}};
}

Expected<std::shared_ptr<Storage>> openStorageUri(std::string_view uri,
                                                  const TypeRegistry& registry, Host& host,
                                                  const fs::path& base_dir) {
  auto parsed = parseStorageUri(uri, registry, base_dir);
  AIMASS_RETURN_IF_ERROR(parsed.status());
  const RegisteredType* type = registry.find(parsed->type);
  if (type == nullptr || type->type.kind != NodeKind::kStorage) {
    return notFound("storage URI '" + shown(uri) + "' needs the node type " + parsed->type +
                    ", which no loaded plugin provides (is libaimass_" +
                    parsed->type.substr(0, parsed->type.find('.')) + "_" +
                    parsed->type.substr(parsed->type.find('.') + 1) +
                    ".so in the plugin search path? see aimass plugins list)");
  }
  // The options become a node declaration that the configuration's own checks convert and
  // complete (graph.h validateNode): one conversion of text to typed values for both.
  const auto& specs = type->type.params;
  NodeDecl decl;
  decl.name = "storage";
  decl.type = parsed->type;
  decl.where.file = "storage URI";
  decl.type_where = decl.where;
  decl.base_dir = base_dir;
  // The parameter a local-path scheme fills from the URI's path is no query option; the
  // error for an unknown option lists the others.
  std::set<std::string> given_by_uri;
  if (!parsed->path_param.empty()) {
    given_by_uri.insert(parsed->path_param);
  }
  std::set<std::string> given;
  for (const auto& [name, text] : parsed->params) {
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const ParamSpec& s) { return s.name == name; });
    if (spec == specs.end() || spec->type == ParamType::kRef || spec->type == ParamType::kRefList) {
      std::string known;
      for (const auto& s : specs) {
        if (!given_by_uri.count(s.name) && s.type != ParamType::kRef &&
            s.type != ParamType::kRefList) {
          known += (known.empty() ? "" : ", ") + s.name;
        }
      }
      return bad(
          uri, "unknown option '" + name + "' for " + parsed->type +
                   (known.empty() ? std::string(" (it takes none)") : " (options: " + known + ")"));
    }
    decl.params.push_back({name, decl.where, YAML::Node(text), decl.where});
    given.insert(name);
  }
  for (const auto& spec : specs) {
    if (spec.required && given.count(spec.name) == 0) {
      return bad(uri, parsed->type + " needs the option '" + spec.name + "', which a URI cannot " +
                          "give; use --config with a storage node instead");
    }
  }
  Diagnostics diagnostics;
  auto config = validateNode(decl, registry, host, diagnostics);
  if (!config) {
    return bad(uri,
               diagnostics.empty() ? std::string("invalid options") : diagnostics.front().message);
  }
  auto node = registry.instantiate(*config, NodeKind::kStorage);
  if (!node.ok()) {
    const Status& status = node.status();
    return Status(status.code(), "cannot open the store " + shown(uri) + " (" + parsed->type +
                                     "): " + status.message());
  }
  return std::static_pointer_cast<Storage>(std::move(node).value());
}

}  // namespace aimass::core
