// SPDX-License-Identifier: Apache-2.0
// The `aimass` executable; everything happens in runCli() so tests can drive it in-process.
#include "aimass/core/cli.h"

int main(int argc, char** argv) { return aimass::core::runCli(argc, argv); }
