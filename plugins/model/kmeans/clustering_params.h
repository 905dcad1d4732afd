// SPDX-License-Identifier: Apache-2.0
#pragma once

// The parameters model.kmeans and model.gmm share (model.gmm compiles this folder's engine in
// and includes this too): how many threads a fit runs on and which seed it takes.

#include <algorithm>
#include <cstdint>
#include <string>
#include <thread>

#include "aimass/params.h"

namespace aimass::plugins::model {

/// `threads`: the fit's threads, 0 for the hardware's.
inline ParamSpec fitThreadsParam() {
  return ParamSpec::integer("threads",
                            "Threads of the fit; 0: the hardware's. predict() runs on the "
                            "caller's thread.")
      .withDefault(std::int64_t{0})
      .atLeast(0)
      .atMost(256);
}

/// `seed`: -1 takes the seed job.train passes to fit().
inline ParamSpec fitSeedParam(const char* what) {
  return ParamSpec::integer("seed",
                            std::string("Seed of ") + what + "; -1: the seed job.train gives.")
      .withDefault(std::int64_t{-1})
      .atLeast(-1);
}

/// The thread count a `threads` value asks for (0: the hardware's, at least 1).
inline int fitThreads(std::int64_t configured) {
  return configured > 0 ? static_cast<int>(configured)
                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace aimass::plugins::model
