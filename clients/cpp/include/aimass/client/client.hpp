// SPDX-License-Identifier: Apache-2.0
// The aimass C++ client: everything a program needs (#include <aimass/client/client.hpp>).
#pragma once

#include "aimass/client/http_client.hpp"  // IWYU pragma: export
#include "aimass/client/jobs.hpp"         // IWYU pragma: export
#include "aimass/client/registry.hpp"     // IWYU pragma: export
#include "aimass/client/types.hpp"        // IWYU pragma: export
