// SPDX-License-Identifier: Apache-2.0
#include "broken_state.h"

#include <sstream>
#include <utility>

namespace aimass::plugins::collective {

const Status& BrokenState::breakWith(Status failure) {
  if (status_.ok()) {
    status_ = std::move(failure);
  }
  return status_;
}

std::string timeoutMessage(const std::string& operation, std::chrono::duration<double> limit,
                           int rank, int size) {
  std::ostringstream text;
  text << operation << " timed out after " << limit.count() << " s on rank " << rank << " of "
       << size << ": another rank did not join it (it died, hangs, or makes other calls than "
       << "this one); the collective is broken and every later call fails";
  return text.str();
}

}  // namespace aimass::plugins::collective
