// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/config.h"

#include <yaml-cpp/eventhandler.h>

#include <charconv>
#include <climits>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <new>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>

#include "aimass/core/type_registry.h"
#include "yaml_location.h"

namespace aimass::core {
namespace {

namespace fs = std::filesystem;

/// Files larger than this are refused: a configuration is text written by people, and the cap
/// keeps a mistaken include of a huge (or endless, like /proc files) file from eating memory.
constexpr std::size_t kMaxConfigBytes = 16u << 20;

/// The deepest a parameter's value nests collections: a record list or map (1) holds records
/// (2) whose list fields (3) hold scalars.
constexpr int kMaxValueDepth = 3;

const std::vector<std::string> kTopLevelKeys = {"nodes", "include", "plugins", "threads"};

bool isNodeName(std::string_view name) {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (name.empty() || !letter(name.front())) {
    return false;
  }
  for (char c : name) {
    if (!letter(c) && !digit(c) && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

bool isVariableName(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) {
    return false;
  }
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

/// Replaces ${VAR}, ${VAR:-default} and $$ in `text`. On failure returns false and sets `message`
/// and `hint`, which quote only `text` (the file's own text). A '$' followed by anything else is
/// kept as it is. `from_environment` receives the names of the variables whose values went in.
bool substituteEnvironment(std::string_view text, std::string& out, std::string& message,
                           std::string& hint, std::vector<std::string>& from_environment) {
  out.clear();
  from_environment.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '$' || i + 1 == text.size() || (text[i + 1] != '$' && text[i + 1] != '{')) {
      out += c;
      continue;
    }
    if (text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      message = "unterminated '${' in '" + std::string(text) + "'";
      hint = "close it with '}', or write '$$' for a literal '$'";
      return false;
    }
    std::string_view body = text.substr(i + 2, close - i - 2);
    std::size_t sep = body.find(":-");
    std::string_view name = body.substr(0, sep);
    bool has_default = sep != std::string_view::npos;
    std::string_view fallback = has_default ? body.substr(sep + 2) : std::string_view();
    if (!isVariableName(name)) {
      message = "malformed variable reference '${" + std::string(body) + "}'";
      hint =
          "write ${NAME} or ${NAME:-default}; NAME is letters, digits and '_'; '$$' is a "
          "literal '$'";
      return false;
    }
    if (fallback.find("${") != std::string_view::npos) {
      message = "nested variable reference in the default of '${" + std::string(body) + "}'";
      hint = "defaults are plain text";
      return false;
    }
    const char* value = std::getenv(std::string(name).c_str());
    if (value != nullptr && (*value != '\0' || !has_default)) {
      out += value;
      from_environment.emplace_back(name);
    } else if (has_default) {
      out += fallback;
    } else {
      message = "environment variable '" + std::string(name) + "' is not set (use ${" +
                std::string(name) + ":-default} to give a default)";
      return false;
    }
    i = close;
  }
  return true;
}

/// The words diagnostics name a scalar by when environment variables (`names`) went into its
/// `written` text: "the value of ${NAME}" when the text is that one reference, else "the
/// expansion of '<written>'". Either way, only the file's own text.
std::string describeSubstituted(std::string_view written, const std::vector<std::string>& names) {
  const std::string reference = "${" + names.front();
  bool whole =
      written.starts_with(reference) && written.find('}') == written.size() - 1 &&
      (written.size() == reference.size() + 1 || written.substr(reference.size(), 2) == ":-");
  if (whole) {
    return "the value of " + reference + "}";
  }
  return "the expansion of '" + std::string(written) + "'";
}

/// One file being loaded: how diagnostics name it, and the folders its relative paths use.
struct FileFrame {
  std::string display;   ///< the name in diagnostics
  fs::path dir;          ///< absolute folder: relative includes, plugins and paths resolve here
  fs::path display_dir;  ///< the folder included files' display names are built from
  fs::path real;         ///< absolute, canonical path; empty for text not read from a file
};

/// What a file reads as. Returns nullopt and sets `error` when it cannot be read.
std::optional<std::string> readConfigFile(const fs::path& path, std::string& error) {
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    error = "no such file";
    return std::nullopt;
  }
  if (!fs::is_regular_file(status)) {
    error = "not a regular file";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open it for reading";
    return std::nullopt;
  }
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes) {
      error = "larger than " + std::to_string(kMaxConfigBytes >> 20) + " MiB";
      return std::nullopt;
    }
  }
  if (in.bad()) {
    error = "read error";
    return std::nullopt;
  }
  return text;
}

/// Records where each YAML document starts. yaml-cpp 0.7's LoadAll() loops forever on some
/// inputs (a ',' where a document should start: the parser reports an empty document without
/// consuming the token), so documents are counted with this handler instead, and a document that
/// starts where the previous one started is reported as a syntax error.
class DocumentStarts final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  std::vector<YAML::Mark> marks;
};

/// Loads one file and the files it includes into a ConfigDocument.
class ConfigLoader {
 public:
  ConfigLoader(ConfigDocument& document, Diagnostics& diagnostics)
      : document_(document), diagnostics_(diagnostics) {}

  /// Loads `text` as the file `frame`; returns the `threads` value it sets (its own, or else
  /// the first one among its includes).
  std::optional<int> loadText(const std::string& text, const FileFrame& frame, bool top_level);

  /// True when some file could not be read or parsed, so the document is incomplete.
  bool incomplete() const { return incomplete_; }

 private:
  void error(SourceLocation where, std::string message, std::string hint = {}) {
    diagnostics_.push_back({std::move(where), std::move(message), std::move(hint)});
  }

  /// Where scalars whose text came from the environment are written, and how to name them.
  using FromEnvironment = std::map<std::pair<int, int>, std::string>;

  /// Substitutes ${VAR} in a scalar, in place, once per node (aliases share nodes). False and a
  /// diagnostic when the text is malformed or names an unset variable. When a variable's value
  /// went in, `from_environment` (if given) learns where the scalar is and how to name it.
  bool substitute(YAML::Node node, const std::string& file,
                  FromEnvironment* from_environment = nullptr);
  /// Substitutes every scalar of a parameter's value: a scalar, a list, or the fields of a list
  /// or map of records (the values, not the names). `depth` counts the collections around
  /// `node` inside the value.
  bool substituteValue(const YAML::Node& node, const std::string& file,
                       FromEnvironment* from_environment, int depth = 0);
  /// The scalars of a value that may be one string or a list of strings, substituted.
  std::vector<std::pair<std::string, SourceLocation>> stringList(const YAML::Node& node,
                                                                 const SourceLocation& key,
                                                                 const std::string& what);

  std::optional<int> loadIncludes(const YAML::Node& value, const SourceLocation& key,
                                  const FileFrame& frame);
  void loadPlugins(const YAML::Node& value, const SourceLocation& key, const FileFrame& frame);
  std::optional<int> loadThreads(const YAML::Node& value, const SourceLocation& key);
  void loadNodes(const YAML::Node& value, const SourceLocation& key, const FileFrame& frame);
  void loadNode(const std::string& name, const SourceLocation& where, const YAML::Node& value,
                const FileFrame& frame);

  ConfigDocument& document_;
  Diagnostics& diagnostics_;
  bool incomplete_ = false;
  std::vector<const FileFrame*> stack_;  ///< files being loaded, outermost first
  std::set<fs::path> included_;          ///< canonical paths of every file loaded
  std::map<std::string, SourceLocation, std::less<>> node_sites_;
  /// Nodes already substituted, bucketed by (line, column) so the identity check stays cheap,
  /// each with the words for it when its text came from the environment (else empty).
  std::map<std::pair<int, int>, std::vector<std::pair<YAML::Node, std::string>>> substituted_;
};

bool ConfigLoader::substitute(YAML::Node node, const std::string& file,
                              FromEnvironment* from_environment) {
  if (!node.IsScalar()) {
    return true;
  }
  SourceLocation where = locationOf(node.Mark(), file);
  auto remember = [&](const std::string& words) {
    if (from_environment != nullptr && !words.empty()) {
      from_environment->insert_or_assign({where.line, where.column}, words);
    }
  };
  auto& bucket = substituted_[{node.Mark().line, node.Mark().column}];
  for (const auto& [seen, words] : bucket) {
    if (seen.is(node)) {
      remember(words);  // an alias in another node still hides the value
      return true;
    }
  }
  bucket.emplace_back(node, std::string());
  const std::string& text = node.Scalar();
  if (text.find('$') == std::string::npos) {
    return true;
  }
  std::string out, message, hint;
  std::vector<std::string> variables;
  if (!substituteEnvironment(text, out, message, hint, variables)) {
    error(where, std::move(message), std::move(hint));
    return false;
  }
  if (!variables.empty()) {
    bucket.back().second = describeSubstituted(text, variables);
    remember(bucket.back().second);
  }
  // Assigning a string to a node rewrites the scalar in place and keeps its mark, so later
  // diagnostics still point at the original text.
  node = out;
  return true;
}

bool ConfigLoader::substituteValue(const YAML::Node& node, const std::string& file,
                                   FromEnvironment* from_environment, int depth) {
  if (node.IsScalar()) {
    return substitute(node, file, from_environment);
  }
  bool ok = true;
  if (depth == kMaxValueDepth) {
    return ok;  // deeper than any parameter type reaches: validation reports the shape
  }
  if (node.IsSequence()) {
    for (const auto& element : node) {
      ok = substituteValue(element, file, from_environment, depth + 1) && ok;
    }
  } else if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      ok = substituteValue(it->second, file, from_environment, depth + 1) && ok;
    }
  }
  return ok;
}

std::vector<std::pair<std::string, SourceLocation>> ConfigLoader::stringList(
    const YAML::Node& node, const SourceLocation& key, const std::string& what) {
  std::vector<std::pair<std::string, SourceLocation>> out;
  std::vector<YAML::Node> items;
  if (node.IsScalar()) {
    items.push_back(node);
  } else if (node.IsSequence()) {
    for (const auto& element : node) {
      items.push_back(element);
    }
  } else {
    error(locationOf(node, key),
          "'" + what + "' must be a string or a list of strings, but is " + describeNodeType(node));
    return out;
  }
  for (const auto& item : items) {
    SourceLocation where = locationOf(item, key);
    if (!item.IsScalar()) {
      error(where, "each entry of '" + what + "' must be a string, but this one is " +
                       describeNodeType(item));
      continue;
    }
    if (!substitute(item, key.file)) {
      continue;
    }
    if (item.Scalar().empty()) {
      error(where, "an entry of '" + what + "' is empty");
      continue;
    }
    out.emplace_back(item.Scalar(), where);
  }
  return out;
}

std::optional<int> ConfigLoader::loadIncludes(const YAML::Node& value, const SourceLocation& key,
                                              const FileFrame& frame) {
  std::optional<int> threads;
  for (const auto& [entry, where] : stringList(value, key, "include")) {
    fs::path given(entry);
    FileFrame child;
    fs::path path = (given.is_absolute() ? given : frame.dir / given).lexically_normal();
    child.display =
        (given.is_absolute() ? given : frame.display_dir / given).lexically_normal().string();
    std::error_code ec;
    child.real = fs::weakly_canonical(path, ec);
    if (ec) {
      child.real = path;
    }
    child.dir = path.parent_path();
    child.display_dir = fs::path(child.display).parent_path();

    bool cycle = false;
    std::string chain;
    for (const FileFrame* open : stack_) {
      if (!chain.empty() || (!open->real.empty() && open->real == child.real)) {
        chain += open->display + " -> ";
        cycle = true;
      }
    }
    if (cycle) {
      error(where, "include cycle: " + chain + child.display,
            "a file may not include itself, directly or through other files");
      continue;
    }
    if (!included_.insert(child.real).second) {
      continue;  // Already merged (a diamond of includes): each file's nodes count once.
    }
    std::string why;
    auto text = readConfigFile(path, why);
    if (!text) {
      error(where, "cannot read included file '" + child.display + "': " + why,
            "included files are resolved against the folder of the file that includes them (" +
                frame.dir.string() + ")");
      incomplete_ = true;
      continue;
    }
    auto included_threads = loadText(*text, child, false);
    if (!threads) {
      threads = included_threads;
    }
  }
  return threads;
}

void ConfigLoader::loadPlugins(const YAML::Node& value, const SourceLocation& key,
                               const FileFrame& frame) {
  for (const auto& [entry, where] : stringList(value, key, "plugins")) {
    fs::path given(entry);
    fs::path path = (given.is_absolute() ? given : frame.dir / given).lexically_normal();
    bool known = false;
    for (const auto& p : document_.plugin_paths) {
      known = known || p == path;
    }
    if (!known) {
      document_.plugin_paths.push_back(path);
    }
  }
}

std::optional<int> ConfigLoader::loadThreads(const YAML::Node& value, const SourceLocation& key) {
  SourceLocation where = locationOf(value, key);
  if (!value.IsScalar()) {
    error(where, std::string("'threads' must be an integer of at least 1, but is ") +
                     describeNodeType(value));
    return std::nullopt;
  }
  FromEnvironment from_environment;
  if (!substitute(value, key.file, &from_environment)) {
    return std::nullopt;
  }
  const std::string& text = value.Scalar();
  long long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1 || n > INT_MAX) {
    error(where, "'threads' must be an integer of at least 1, but " +
                     (from_environment.empty() ? "is '" + text + "'"
                                               : from_environment.begin()->second + " is not"));
    return std::nullopt;
  }
  return static_cast<int>(n);
}

void ConfigLoader::loadNodes(const YAML::Node& value, const SourceLocation& key,
                             const FileFrame& frame) {
  if (!value.IsMap()) {
    error(locationOf(value, key),
          std::string("'nodes' must be a map of node names to nodes, but is ") +
              describeNodeType(value),
          "write each node as 'name: {type: <kind>.<name>, <parameter>: <value>, ...}'");
    return;
  }
  for (auto it = value.begin(); it != value.end(); ++it) {
    const YAML::Node name_node = it->first;  // a copy: it-> returns a temporary proxy
    SourceLocation where = locationOf(name_node, key);
    if (!name_node.IsScalar()) {
      error(where, std::string("a node name must be a string, but this one is ") +
                       describeNodeType(name_node));
      continue;
    }
    const std::string& name = name_node.Scalar();
    if (auto first = node_sites_.find(name); first != node_sites_.end()) {
      error(where,
            "node '" + name + "' is defined twice; it was first defined at " +
                formatLocation(first->second),
            "node names must be unique across the file and its includes");
      continue;
    }
    node_sites_.emplace(name, where);
    if (!isNodeName(name)) {
      error(where, "invalid node name '" + name + "'",
            "a node name starts with a letter or '_' and contains only letters, digits, '_', "
            "'.' and '-'");
    }
    loadNode(name, where, it->second, frame);
  }
}

void ConfigLoader::loadNode(const std::string& name, const SourceLocation& where,
                            const YAML::Node& value, const FileFrame& frame) {
  NodeDecl decl;
  decl.name = name;
  decl.where = where;
  decl.base_dir = frame.dir;
  if (!value.IsMap()) {
    // The node is still recorded (with no type) so references to it do not add noise.
    error(locationOf(value, where),
          "node '" + name + "' must be a map with a 'type' key, but is " + describeNodeType(value),
          "write it as '" + name + ": {type: <kind>.<name>, <parameter>: <value>, ...}'");
    document_.nodes.push_back(std::move(decl));
    return;
  }
  std::map<std::string, SourceLocation, std::less<>> keys;
  bool has_type = false;
  for (auto it = value.begin(); it != value.end(); ++it) {
    const YAML::Node key = it->first;  // copies: it-> returns a temporary proxy
    const YAML::Node item = it->second;
    SourceLocation key_where = locationOf(key, where);
    if (!key.IsScalar()) {
      error(key_where, "a parameter name in node '" + name + "' must be a string, but is " +
                           describeNodeType(key));
      continue;
    }
    const std::string& key_name = key.Scalar();
    if (auto first = keys.find(key_name); first != keys.end()) {
      error(key_where, "duplicate key '" + key_name + "' in node '" + name +
                           "'; it was first given at " + formatLocation(first->second));
      continue;
    }
    keys.emplace(key_name, key_where);
    SourceLocation value_where = locationOf(item, key_where);
    if (key_name == "type") {
      has_type = true;
      if (!item.IsScalar()) {
        error(value_where,
              "the type of node '" + name + "' must be a string, but is " + describeNodeType(item),
              "for example 'type: model.softmax'");
        continue;
      }
      if (!substitute(item, where.file, &decl.from_environment)) {
        continue;
      }
      if (item.Scalar().empty()) {
        error(value_where, "the type of node '" + name + "' is empty",
              "for example 'type: model.softmax'");
        continue;
      }
      decl.type = item.Scalar();
      decl.type_where = value_where;
      continue;
    }
    substituteValue(item, where.file, &decl.from_environment);
    decl.params.push_back(ParamDecl{key_name, key_where, item, value_where});
  }
  if (!has_type) {
    error(where, "node '" + name + "' has no 'type'",
          "every node names its type, for example 'type: model.softmax'");
  }
  document_.nodes.push_back(std::move(decl));
}

std::optional<int> ConfigLoader::loadText(const std::string& text, const FileFrame& frame,
                                          bool top_level) {
  std::optional<YAML::Node> root_node;
  std::optional<YAML::Mark> second_document;
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentStarts starts;
    while (starts.marks.size() < 2 && parser.HandleNextDocument(starts)) {
    }
    if (starts.marks.size() == 2 && starts.marks[1].pos == starts.marks[0].pos) {
      const YAML::Mark& mark = starts.marks[0];
      std::string token = mark.pos >= 0 && static_cast<std::size_t>(mark.pos) < text.size()
                              ? std::string(1, text[static_cast<std::size_t>(mark.pos)])
                              : std::string();
      error(locationOf(mark, frame.display),
            "unexpected '" + token + "' where a value should start");
      incomplete_ = true;
      return std::nullopt;
    }
    if (starts.marks.size() == 2) {
      second_document = starts.marks[1];
    }
    root_node.emplace(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    // `{a: ${X}}` is a YAML error, not ours: in flow collections '}' closes the collection.
    bool flow_variable =
        e.msg.find("flow") != std::string::npos && text.find("${") != std::string::npos;
    error(locationOf(e.mark, frame.display), e.msg.empty() ? "invalid YAML" : e.msg,
          flow_variable ? "inside {...} and [...] braces end the collection: quote values that "
                          "use variables, as in p: \"${VAR}\""
                        : "");
    incomplete_ = true;
    return std::nullopt;
  }
  SourceLocation start{frame.display, 1, 1};
  const YAML::Node& root = *root_node;
  if (!second_document && root.IsNull()) {
    if (top_level) {
      error(start, "the configuration is empty", "it needs at least a 'nodes' map");
      incomplete_ = true;
    }
    return std::nullopt;
  }
  if (second_document) {
    error(locationOf(*second_document, frame.display),
          "a configuration file holds one YAML document, but a second one starts here",
          "remove the '---' line, or split the documents into files and include them");
  }
  if (!root.IsMap()) {
    error(locationOf(root, start),
          std::string("the configuration must be a map with the keys nodes, include, plugins "
                      "and threads, but is ") +
              describeNodeType(root));
    incomplete_ = true;
    return std::nullopt;
  }

  stack_.push_back(&frame);
  std::optional<int> own_threads, include_threads;
  std::map<std::string, SourceLocation, std::less<>> keys;
  bool has_nodes = false, nodes_misspelt = false;
  for (auto it = root.begin(); it != root.end(); ++it) {
    const YAML::Node key = it->first;  // copies: it-> returns a temporary proxy
    SourceLocation where = locationOf(key, start);
    if (!key.IsScalar()) {
      error(where, std::string("a top-level key must be a string, but this one is ") +
                       describeNodeType(key));
      continue;
    }
    const std::string& name = key.Scalar();
    if (auto first = keys.find(name); first != keys.end()) {
      error(where, "duplicate top-level key '" + name + "'; it was first given at " +
                       formatLocation(first->second));
      continue;
    }
    keys.emplace(name, where);
    if (name == "nodes") {
      has_nodes = true;
      loadNodes(it->second, where, frame);
    } else if (name == "include") {
      auto threads = loadIncludes(it->second, where, frame);
      if (!include_threads) {
        include_threads = threads;
      }
    } else if (name == "plugins") {
      loadPlugins(it->second, where, frame);
    } else if (name == "threads") {
      own_threads = loadThreads(it->second, where);
    } else {
      std::string guess = closestMatch(name, kTopLevelKeys);
      nodes_misspelt = nodes_misspelt || guess == "nodes";
      error(where, "unknown top-level key '" + name + "'",
            guess.empty() ? "the top-level keys are: nodes, include, plugins, threads"
                          : "did you mean '" + guess + "'?");
    }
  }
  stack_.pop_back();
  if (top_level && !has_nodes && !nodes_misspelt) {
    error(locationOf(root, start), "the configuration has no 'nodes' map",
          "add 'nodes:' with one entry per node, for example 'store: {type: storage.fs, "
          "path: ./var}'");
  }
  return own_threads ? own_threads : include_threads;
}

std::optional<ConfigDocument> loadTop(const std::string& text, FileFrame frame,
                                      ConfigDocument document, Diagnostics& diagnostics) {
  std::size_t first = diagnostics.size();
  bool incomplete = false;
  try {
    ConfigLoader loader(document, diagnostics);
    document.threads = loader.loadText(text, frame, true);
    incomplete = loader.incomplete();
  } catch (const std::bad_alloc&) {
    diagnostics.push_back(
        {{frame.display, 0, 0}, "out of memory while reading the configuration", {}});
    incomplete = true;
  } catch (const std::exception& e) {
    diagnostics.push_back(
        {{frame.display, 0, 0}, std::string("cannot read the configuration: ") + e.what(), {}});
    incomplete = true;
  }
  sortDiagnostics(diagnostics, first);
  if (incomplete) {
    return std::nullopt;
  }
  return document;
}

}  // namespace

std::optional<ConfigDocument> loadConfig(const std::filesystem::path& file,
                                         Diagnostics& diagnostics) {
  namespace fs = std::filesystem;
  std::string why;
  std::optional<std::string> text;
  std::error_code ec;
  fs::path absolute = fs::absolute(file, ec).lexically_normal();
  if (ec) {
    absolute = file;
  }
  text = readConfigFile(file, why);
  if (!text) {
    diagnostics.push_back({{file.string(), 0, 0}, "cannot read configuration file: " + why, {}});
    return std::nullopt;
  }
  ConfigDocument document;
  document.file = file;
  document.base_dir = absolute.parent_path();
  FileFrame frame;
  frame.display = file.string();
  frame.dir = document.base_dir;
  frame.display_dir = file.parent_path();
  frame.real = fs::weakly_canonical(absolute, ec);
  if (ec) {
    frame.real = absolute;
  }
  return loadTop(*text, std::move(frame), std::move(document), diagnostics);
}

std::optional<ConfigDocument> loadConfigFromString(const std::string& text,
                                                   const std::string& file_name,
                                                   const std::filesystem::path& base_dir,
                                                   Diagnostics& diagnostics) {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(base_dir, ec).lexically_normal();
  if (ec) {
    dir = base_dir;
  }
  ConfigDocument document;
  document.file = file_name;
  document.base_dir = dir;
  FileFrame frame;
  frame.display = file_name;
  frame.dir = dir;
  frame.display_dir = base_dir;
  return loadTop(text, std::move(frame), std::move(document), diagnostics);
}

}  // namespace aimass::core
