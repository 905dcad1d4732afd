// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/status.h"
#include "aimass/storage.h"

namespace aimass::core {

/// One entry of a model's history (ModelEventInfo in the SDK is its public face): a change to
/// the model or a decision about it.
struct ModelEvent {
  std::string model;
  std::int64_t sequence = 0;  ///< 1, 2, ... per model; set by append()
  std::int64_t unix_ms = 0;   ///< set by append() when 0
  std::string kind;           ///< [a-z_]+: "registered", "alias_moved", "drift", ...
  std::int64_t version = 0;   ///< the version it concerns; 0: none
  std::string alias;          ///< the alias it concerns; empty: none
  std::string actor;          ///< who; append() puts the process's user when empty
  std::string message;        ///< one line for people
  std::string details = "{}"; ///< the kind's own fields, one JSON object
};

/// Which events list() returns: those after `after_sequence`, oldest first, at most `limit`
/// (0: no limit), only of `kind` when set.
struct ModelEventFilter {
  std::int64_t after_sequence = 0;
  std::size_t limit = 0;
  std::string kind;
};

/// The event kinds the registry itself records.
namespace event_kind {
inline constexpr std::string_view kRegistered = "registered";
inline constexpr std::string_view kDeleted = "deleted";
inline constexpr std::string_view kAliasMoved = "alias_moved";
inline constexpr std::string_view kAliasRolledBack = "alias_rolled_back";
}  // namespace event_kind

/// The event history of every model in one storage: an append-only log per model, so an audit
/// can tell who changed what, and why, in order.
///
/// Layout: registry/events/<model>/next (the next sequence number, compare-and-set) and
/// registry/events/<model>/<0000000007> (one event each, the text record of
/// encodeModelEvent()). Events are never rewritten; they outlive the versions they name, and a
/// model whose versions are all deleted keeps its history.
///
/// Concurrency: sequence numbers come from compare-and-set, so appends from many threads and
/// processes sharing a store get distinct numbers (a crash between taking a number and writing
/// the record leaves a gap, which readers skip).

/// Records `event` as the model's next one and returns it with its sequence, time (when 0) and
/// actor (when empty: the process's user) filled in. kInvalidArgument for a bad model or alias
/// name, a kind outside [a-z_] (1..64 characters), a negative version or details that are not
/// a JSON object.
Expected<ModelEvent> appendModelEvent(Storage& storage, ModelEvent event);
/// The model's events as `filter` selects, oldest first; empty when it has none. kDataLoss
/// naming the key of a record that does not decode.
Expected<std::vector<ModelEvent>> readModelEvents(const Storage& storage, std::string_view model,
                                                  const ModelEventFilter& filter);
/// Whether the model has at least one event.
Expected<bool> modelHasEvents(const Storage& storage, std::string_view model);

/// The event's text record (record_text.h):
///   aimass-model-event 1
///   model iris
///   sequence 7
///   ms 1718000000000
///   kind alias_moved
///   version 4
///   alias champion
///   actor alice
///   message champion%20moved%20from%203%20to%204
///   details {"from":3,"to":4}
/// version and alias are written only when set.
std::string encodeModelEvent(const ModelEvent& event);
/// Parses encodeModelEvent()'s text; kDataLoss naming what is malformed.
Expected<ModelEvent> decodeModelEvent(std::string_view text);

/// The key prefix of one model's events: "registry/events/<model>/".
std::string modelEventsPrefix(std::string_view model);

}  // namespace aimass::core
