// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "aimass/collective.h"
#include "aimass/model.h"
#include "aimass/status.h"

namespace aimass::core {

/// Where one optimizer step's rows lie in an epoch's shuffled order. Every rank shuffles the
/// same order (same seed); a step covers the next `batch_size * ranks` rows of it (the global
/// batch), and rank r trains on its r-th contiguous slice of batch_size rows. The last global
/// batch of an epoch may be short: the slices are cut at its end, so a rank may get no rows.
///
/// With one rank this is the single-process loop's batch: rows [position, position + batch).
struct BatchSlice {
  std::size_t begin = 0;        ///< first row (index into the epoch's order) of this rank
  std::size_t end = 0;          ///< one past its last row; begin == end: no rows this step
  std::size_t global_end = 0;   ///< one past the global batch's last row: the next position
};

/// The slice of rank `rank` of `ranks` for the global batch starting at `position` of an order
/// of `total` rows. `position` < `total`.
BatchSlice batchSlice(std::size_t position, std::size_t total, std::size_t batch_size, int rank,
                      int ranks);

/// The contiguous share of `total` rows that rank `rank` of `ranks` validates: the first
/// total % ranks ranks take one row more, so the shares cover every row once.
BatchSlice validationShare(std::size_t total, int rank, int ranks);

/// What every rank knows after a step's totals are reduced.
struct StepTotals {
  double rows = 0;      ///< rows trained on in this step, over all ranks
  double loss_sum = 0;  ///< sum of the row losses, over all ranks
  bool stop = false;    ///< some rank was asked to stop (SIGINT/SIGTERM): all stop together
};

/// Data-parallel training over a Collective: job.train's `collective:`. With one rank (no
/// collective, or collective.local) every call returns at once and changes nothing, so the
/// single-process loop runs unchanged.
///
/// The trainer calls, on every rank in the same order: broadcastParameters() once before the
/// first step (every rank starts from rank 0's weights, whatever its initialisation did), then
/// per step reduceStep() and reduceGradients(), per validation pass reduceValidation(); and
/// agree() wherever a decision must be the same on all ranks.
///
/// Gradients: each rank's gradients are the mean over its rows. reduceGradients() weights them
/// by rows / total rows and sums them over the ranks, so every rank ends with the gradient of
/// the mean loss over the global batch: the same gradient a single process would compute on
/// those rows, up to float rounding. They travel in buckets of at most `bucket_bytes`, several
/// small parameters packed into one message and a large one split.
///
/// Threading: one training thread; not thread-safe.
class DataParallel {
 public:
  /// `collective` may be null (one rank). bucket_bytes >= 4.
  DataParallel(std::shared_ptr<Collective> collective, std::size_t bucket_bytes);

  int rank() const noexcept { return rank_; }
  int ranks() const noexcept { return ranks_; }
  bool distributed() const noexcept { return ranks_ > 1; }
  bool leader() const noexcept { return rank_ == 0; }

  /// Copies every parameter's value from rank 0 to the others.
  Status broadcastParameters(std::span<Parameter> parameters);
  /// Sums this rank's rows, loss sum and stop wish over the ranks.
  Status reduceStep(double rows, double loss_sum, bool stop, StepTotals& totals);
  /// Replaces every gradient by the global batch's mean gradient. `rows` are this rank's rows
  /// in the step, `total_rows` the global batch's (from reduceStep()). A rank with no rows
  /// contributes zeros (its gradients are not read).
  Status reduceGradients(std::span<Parameter> parameters, double rows, double total_rows);
  /// Sums the validation figures over the ranks, in place: loss_sum, rows and correct;
  /// `accuracy_ok` ends true only when it was true on every rank.
  Status reduceValidation(double& loss_sum, double& rows, double& correct, bool& accuracy_ok);
  /// Gives every rank rank 0's `bytes` (their size first, then the bytes). `leader_failed` is
  /// rank 0's on return everywhere: when rank 0 failed to make them, the others learn it at
  /// once instead of waiting for bytes that never come.
  Status shareFromLeader(std::string& bytes, bool& leader_failed);
  /// true when `mine` is true on any rank (a stop request, a failed hook).
  Expected<bool> anyRank(bool mine);
  /// Returns once every rank has come here.
  Status barrier();

  /// Wall seconds spent in collective calls since the last takeCommunicationSeconds() (the
  /// communication share of step time; bench W8 reports it).
  double takeCommunicationSeconds() noexcept;

 private:
  /// All-reduces the first `used` values of bucket_ and copies them back to pieces_.
  Status flushBucket(std::span<Parameter> parameters, std::size_t used);
  /// Adds the time since `started` to the communication time.
  void addTime(std::chrono::steady_clock::time_point started) noexcept;

  std::shared_ptr<Collective> collective_;
  int rank_ = 0;
  int ranks_ = 1;
  std::size_t bucket_floats_;
  std::vector<float> bucket_;
  /// The parameters (index, first element, count) whose gradients are in bucket_.
  struct Piece {
    std::size_t parameter;
    std::size_t offset;
    std::size_t count;
  };
  std::vector<Piece> pieces_;
  double communication_seconds_ = 0;
};

}  // namespace aimass::core
