// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/storage_uri.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "aimass/core/graph.h"
#include "aimass/params.h"

namespace aimass::core {

namespace fs = std::filesystem;

const char kStorageUriForms[] =
    "  sqlite:///abs/path/store.db, sqlite:relative/store.db   storage.sqlite\n"
    "  file:///abs/dir, fs:///abs/dir, fs:relative/dir         storage.fs\n"
    "  postgresql://USER@HOST:PORT/DATABASE (or postgres://)   storage.postgres\n";

namespace {

constexpr const char* kKnownSchemes = "sqlite, file, fs, postgresql (or postgres)";

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

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Decodes %XX escapes; nullopt for a '%' not followed by two hex digits.
std::optional<std::string> percentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) {
      return std::nullopt;
    }
    const int high = hexValue(text[i + 1]);
    const int low = hexValue(text[i + 2]);
    if (high < 0 || low < 0) {
      return std::nullopt;
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
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
    auto value = percentDecode(item.substr(eq + 1));
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

/// sqlite:, file: and fs: URIs: a local path, absolute or relative to `base_dir`.
Expected<StorageUri> parseFileUri(std::string_view uri, std::string_view scheme,
                                  std::string_view rest, const fs::path& base_dir) {
  StorageUri out;
  out.type = scheme == "sqlite" ? "storage.sqlite" : "storage.fs";
  std::string_view query;
  bool has_query = false;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
    has_query = true;
  }
  std::string_view path = rest;
  if (rest.starts_with("//")) {
    const std::string_view after = rest.substr(2);
    const auto slash = after.find('/');
    const std::string_view host = after.substr(0, slash);
    if (!host.empty() && host != "localhost") {
      return bad(uri, "a " + std::string(scheme) + " URI names a local path and takes no host ('" +
                          std::string(host) + "'); write " + std::string(scheme) +
                          ":///abs/path (three slashes) or " + std::string(scheme) +
                          ":relative/path");
    }
    path = slash == std::string_view::npos ? std::string_view() : after.substr(slash);
  }
  if (path.empty()) {
    return bad(uri, "no path; write " + std::string(scheme) + ":///abs/path or " +
                        std::string(scheme) + ":relative/path");
  }
  auto decoded = percentDecode(path);
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
  out.params.emplace_back("path", resolved.lexically_normal().string());
  if (has_query) {
    auto options = parseQuery(uri, query);
    AIMASS_RETURN_IF_ERROR(options.status());
    for (auto& option : *options) {
      if (option.first == "path") {
        return bad(uri, "the path is part of the URI, not a query option");
      }
      out.params.push_back(std::move(option));
    }
  }
  return out;
}

/// postgresql:// URIs: the options storage.postgres takes besides the URI come out of the
/// query; everything else stays for libpq.
Expected<StorageUri> parsePostgresUri(std::string_view uri) {
  StorageUri out;
  out.type = "storage.postgres";
  std::string_view base = uri;
  std::vector<std::pair<std::string, std::string>> libpq_options;
  if (auto q = uri.find('?'); q != std::string_view::npos) {
    base = uri.substr(0, q);
    auto options = parseQuery(uri, uri.substr(q + 1));
    AIMASS_RETURN_IF_ERROR(options.status());
    for (auto& option : *options) {
      if (option.first == "password_env" || option.first == "pool_size" ||
          option.first == "connect_timeout_s") {
        out.params.push_back(std::move(option));
      } else {
        libpq_options.push_back(std::move(option));
      }
    }
  }
  const std::string_view authority_and_path = base.substr(base.find("://") + 3);
  if (authority_and_path.empty() || authority_and_path.front() == '/') {
    return bad(uri, "no server; write postgresql://USER@HOST:PORT/DATABASE");
  }
  const auto slash = authority_and_path.find('/');
  if (slash == std::string_view::npos || slash + 1 == authority_and_path.size()) {
    return bad(uri, "no database; write postgresql://USER@HOST:PORT/DATABASE");
  }
  std::string rebuilt(base);
  for (std::size_t i = 0; i < libpq_options.size(); ++i) {
    rebuilt += (i == 0 ? "?" : "&") + libpq_options[i].first + "=" + libpq_options[i].second;
  }
  out.params.insert(out.params.begin(), {"uri", rebuilt});
  return out;
}

}  // namespace

Expected<StorageUri> parseStorageUri(std::string_view uri, const fs::path& base_dir) {
  const auto colon = uri.find(':');
  std::string_view scheme =
      colon == std::string_view::npos ? std::string_view() : uri.substr(0, colon);
  const bool scheme_ok = !scheme.empty() &&
                         std::isalpha(static_cast<unsigned char>(scheme.front())) &&
                         scheme.find_first_not_of(
                             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") ==
                             std::string_view::npos;
  if (!scheme_ok) {
    return bad(uri, "not a URI (no SCHEME: at the start); storage URIs look like\n" +
                        std::string(kStorageUriForms));
  }
  const std::string_view rest = uri.substr(colon + 1);
  if (scheme == "sqlite" || scheme == "file" || scheme == "fs") {
    return parseFileUri(uri, scheme, rest, base_dir);
  }
  if (scheme == "postgresql" || scheme == "postgres") {
    if (!rest.starts_with("//")) {
      return bad(uri, "write postgresql://USER@HOST:PORT/DATABASE");
    }
    return parsePostgresUri(uri);
  }
  return bad(uri, "unknown scheme '" + std::string(scheme) + "'; known schemes: " + kKnownSchemes);
}

Expected<std::shared_ptr<Storage>> openStorageUri(std::string_view uri,
                                                  const TypeRegistry& registry, Host& host,
                                                  const fs::path& base_dir) {
  auto parsed = parseStorageUri(uri, base_dir);
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
  std::set<std::string> given;
  for (const auto& [name, text] : parsed->params) {
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const ParamSpec& s) { return s.name == name; });
    if (spec == specs.end() || spec->type == ParamType::kRef || spec->type == ParamType::kRefList) {
      std::string known;
      for (const auto& s : specs) {
        if (s.name != "path" && s.name != "uri" && s.type != ParamType::kRef &&
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
