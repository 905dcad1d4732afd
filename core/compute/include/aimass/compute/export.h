// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Marks the classes and functions libaimass_compute exports; everything else in the library
/// (oneDNN included) stays hidden.
#define AIMASS_COMPUTE_API __attribute__((visibility("default")))
