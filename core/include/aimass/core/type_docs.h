// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "aimass/core/type_registry.h"
#include "aimass/params.h"

namespace aimass::core {

/// Documentation of node types, rendered from their schemas so it cannot drift from the code:
/// the outputs of `aimass plugins list`, `aimass plugins describe` and
/// `aimass plugins reference`. Pure functions of the registry; safe from any thread once the
/// registry is filled.

/// A parameter value as a configuration would write it: `10`, `0.1`, `fast`, `[16, 8]`.
/// Floats always show a decimal point or exponent (`1.0`). Empty for no value.
std::string formatParamValue(const ParamValue& value, ParamType type);

/// A parameter's constraints in words: `[1, 100]`, `>= 0`, `one of: a, b`, `dataset node`.
/// Empty when there are none.
std::string describeConstraints(const ParamSpec& param);

/// `aimass plugins list`: one row per type (TYPE KIND PLUGIN VERSION LIBRARY), aligned, with a
/// header row. Built-in types show "(built in)" as their library.
std::string typeTable(const TypeRegistry& registry);

/// `aimass plugins list --json`: an array of {type, kind, plugin, version, library, summary}.
std::string typesJson(const TypeRegistry& registry);

/// GET /api/v1/plugins: {"node_types": [{type, kind, plugin, plugin_version, summary, params}]}
/// for every type, each parameter as `plugins describe --json` writes it (name, type, required,
/// default, min, max, choices, ref_kind, example, fields of records) with its documentation
/// under "description".
std::string nodeTypesJson(const TypeRegistry& registry);

/// `aimass plugins describe TYPE`: the summary, where the type comes from and every parameter
/// with its type, required/default, constraints, example and doc.
std::string describeType(const RegisteredType& type);

/// `aimass plugins describe TYPE --json`: the same as one object, values as JSON values.
std::string describeTypeJson(const RegisteredType& type);

/// `aimass plugins reference`: a Markdown reference of every type, grouped by kind in the
/// order of kAllNodeKinds, sorted by name within a kind. Contains no machine-specific paths,
/// so the committed docs/config-reference.md matches any build with the same plugins.
std::string configReference(const TypeRegistry& registry);

}  // namespace aimass::core
