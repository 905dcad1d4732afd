// SPDX-License-Identifier: Apache-2.0
#include "train_data_parallel.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

namespace aimass::core {

BatchSlice batchSlice(std::size_t position, std::size_t total, std::size_t batch_size, int rank,
                      int ranks) {
  BatchSlice slice;
  const std::size_t global = batch_size * static_cast<std::size_t>(ranks);
  slice.global_end = std::min(total, position + global);
  slice.begin = std::min(slice.global_end, position + batch_size * static_cast<std::size_t>(rank));
  slice.end = std::min(slice.global_end, slice.begin + batch_size);
  return slice;
}

BatchSlice validationShare(std::size_t total, int rank, int ranks) {
  const auto n = static_cast<std::size_t>(ranks);
  const auto r = static_cast<std::size_t>(rank);
  const std::size_t base = total / n;
  const std::size_t extra = total % n;
  BatchSlice share;
  share.begin = r * base + std::min(r, extra);
  share.end = share.begin + base + (r < extra ? 1 : 0);
  share.global_end = total;
  return share;
}

DataParallel::DataParallel(std::shared_ptr<Collective> collective, std::size_t bucket_bytes)
    : collective_(std::move(collective)),
      bucket_floats_(std::max<std::size_t>(1, bucket_bytes / sizeof(float))) {
  if (collective_) {
    rank_ = collective_->rank();
    ranks_ = collective_->size();
  }
}

Status DataParallel::broadcastParameters(std::span<Parameter> parameters) {
  if (!distributed()) {
    return Status();
  }
  for (Parameter& parameter : parameters) {
    auto values = parameter.value.span<float>();
    AIMASS_RETURN_IF_ERROR(
        collective_->broadcast(std::as_writable_bytes(values), 0)
            .withContext("sending parameter '" + parameter.name + "' from rank 0"));
  }
  return Status();
}

Status DataParallel::reduceStep(double rows, double loss_sum, bool stop, StepTotals& totals) {
  if (!distributed()) {
    totals = {rows, loss_sum, stop};
    return Status();
  }
  const auto started = std::chrono::steady_clock::now();
  std::array<double, 3> sums{rows, loss_sum, stop ? 1.0 : 0.0};
  AIMASS_RETURN_IF_ERROR(
      collective_->allreduce(std::span<double>(sums), ReduceOp::kSum).withContext("step totals"));
  addTime(started);
  totals = {sums[0], sums[1], sums[2] > 0};
  return Status();
}

Status DataParallel::flushBucket(std::span<Parameter> parameters, std::size_t used) {
  if (pieces_.empty()) {
    return Status();
  }
  AIMASS_RETURN_IF_ERROR(
      collective_->allreduce(std::span<float>(bucket_.data(), used), ReduceOp::kSum)
          .withContext("gradients of '" + parameters[pieces_.front().parameter].name + "'" +
                       (pieces_.size() > 1 ? " and " + std::to_string(pieces_.size() - 1) +
                                                 " more parameters"
                                           : std::string())));
  std::size_t at = 0;
  for (const Piece& piece : pieces_) {
    float* grad = parameters[piece.parameter].grad.data<float>() + piece.offset;
    std::memcpy(grad, bucket_.data() + at, piece.count * sizeof(float));
    at += piece.count;
  }
  pieces_.clear();
  return Status();
}

Status DataParallel::reduceGradients(std::span<Parameter> parameters, double rows,
                                     double total_rows) {
  if (!distributed()) {
    return Status();
  }
  const auto started = std::chrono::steady_clock::now();
  // Weighted so the sum over the ranks is the mean over the global batch's rows.
  const auto weight = static_cast<float>(total_rows > 0 ? rows / total_rows : 0.0);
  bucket_.resize(bucket_floats_);
  std::size_t used = 0;
  for (std::size_t p = 0; p < parameters.size(); ++p) {
    const std::span<const float> grad = std::as_const(parameters[p].grad).span<float>();
    for (std::size_t offset = 0; offset < grad.size();) {
      if (used == bucket_floats_) {
        AIMASS_RETURN_IF_ERROR(flushBucket(parameters, used));
        used = 0;
      }
      const std::size_t count = std::min(grad.size() - offset, bucket_floats_ - used);
      float* out = bucket_.data() + used;
      if (rows > 0) {
        for (std::size_t i = 0; i < count; ++i) {
          out[i] = grad[offset + i] * weight;
        }
      } else {
        std::fill(out, out + count, 0.0F);
      }
      pieces_.push_back({p, offset, count});
      used += count;
      offset += count;
    }
  }
  AIMASS_RETURN_IF_ERROR(flushBucket(parameters, used));
  addTime(started);
  return Status();
}

Status DataParallel::reduceValidation(double& loss_sum, double& rows, double& correct,
                                      bool& accuracy_ok) {
  if (!distributed()) {
    return Status();
  }
  std::array<double, 4> sums{loss_sum, rows, correct, accuracy_ok ? 0.0 : 1.0};
  AIMASS_RETURN_IF_ERROR(collective_->allreduce(std::span<double>(sums), ReduceOp::kSum)
                             .withContext("validation totals"));
  loss_sum = sums[0];
  rows = sums[1];
  correct = sums[2];
  accuracy_ok = sums[3] == 0;
  return Status();
}

Status DataParallel::shareFromLeader(std::string& bytes, bool& leader_failed) {
  if (!distributed()) {
    return Status();
  }
  std::array<std::uint64_t, 2> header{leader_failed ? 1U : 0U, bytes.size()};
  AIMASS_RETURN_IF_ERROR(collective_->broadcast(std::as_writable_bytes(std::span(header)), 0));
  leader_failed = header[0] != 0;
  if (leader_failed || header[1] == 0) {
    bytes.clear();
    return Status();
  }
  bytes.resize(header[1]);
  return collective_->broadcast(std::as_writable_bytes(std::span(bytes.data(), bytes.size())), 0);
}

Expected<bool> DataParallel::anyRank(bool mine) {
  if (!distributed()) {
    return mine;
  }
  std::array<double, 1> flag{mine ? 1.0 : 0.0};
  AIMASS_RETURN_IF_ERROR(collective_->allreduce(std::span<double>(flag), ReduceOp::kMax));
  return flag[0] > 0;
}

Status DataParallel::barrier() { return distributed() ? collective_->barrier() : Status(); }

void DataParallel::addTime(std::chrono::steady_clock::time_point started) noexcept {
  communication_seconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

double DataParallel::takeCommunicationSeconds() noexcept {
  return std::exchange(communication_seconds_, 0.0);
}

}  // namespace aimass::core
