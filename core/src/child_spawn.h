// SPDX-License-Identifier: Apache-2.0
// What every worker process aimass starts (a tuner's trial, a job service's job) gets: its own
// process group, so that the terminal's Ctrl-C reaches the parent alone, which then stops its
// workers; default signal dispositions and an empty signal mask, whatever the parent blocks.
#pragma once

#include <signal.h>
#include <spawn.h>

namespace aimass::core {

/// Initialises `attributes` (posix_spawnattr_init) with the settings above; the caller
/// destroys them.
inline void initChildSpawnAttributes(posix_spawnattr_t& attributes) {
  posix_spawnattr_init(&attributes);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                            POSIX_SPAWN_SETPGROUP);
}

}  // namespace aimass::core
