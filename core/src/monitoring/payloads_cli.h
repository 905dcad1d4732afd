// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "aimass/status.h"
#include "aimass/storage.h"
#include "monitoring/payload_record.h"

/// `aimass models payloads NAME[/VERSION] [--since UNIX_NS] [--limit N] [--json]`: the
/// requests payload logging recorded for a model (monitoring/payload_record.h), oldest first.
namespace aimass::core {

struct PayloadsCommand {
  std::string model;
  PayloadQuery query;        ///< model, version, from_ns, limit (default 20)
  bool json = false;         ///< --json
  std::string config;        ///< --config CONFIG (this or storage_uri)
  std::string storage_uri;   ///< --storage URI
  std::string storage_node;  ///< --storage-node NAME
};

/// The first word of `words` (the words after `models`) that is neither an option nor an
/// option's value: the subcommand; empty when there is none.
std::string modelsSubcommandOf(const std::vector<std::string>& words);
/// True when that word is "payloads".
bool isPayloadsCommand(const std::vector<std::string>& words);
/// Parses the words after `models`; kInvalidArgument naming the bad word (a missing NAME, an
/// empty VERSION after '/', a
/// --limit that is not a whole number from 1, an unknown option).
Expected<PayloadsCommand> parsePayloadsCommand(const std::vector<std::string>& words);
/// Prints the entries: a table (time, version, request id, latency, outcome, the tensors with
/// their first values) or, with --json, every entry with its tensors in full ({"model",
/// "entries": [{"request_id", "version", "unix_ns", "latency_us", "outcome",
/// "masked_features", "inputs": [{"name", "datatype", "shape", "data"}], "outputs"}]}; NaN as
/// null). Returns the exit code (storeCommandExit()).
int runPayloadsCommand(const PayloadsCommand& command, Storage& storage, std::ostream& out,
                       std::ostream& err);

/// The entries as printPayloads() prints them with --json.
std::string payloadEntriesJson(const std::string& model, const std::vector<PayloadEntry>& entries);

}  // namespace aimass::core
