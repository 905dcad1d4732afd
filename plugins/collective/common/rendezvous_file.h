// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "aimass/status.h"

namespace aimass::plugins::collective {

/// Hands a few bytes (NCCL's unique id) from rank 0 to the other ranks through a shared folder
/// (a network file system every host mounts), for launchers without MPI.
///
/// publish() writes the bytes to a temporary file in the folder and renames it into place, so
/// a reader sees either no file or all of it. await() polls for the file until it holds
/// exactly `size` bytes or the timeout passes. A file left by an earlier job with the same
/// name would be read as this job's: names carry a key per job (rendezvousKey()), and rank 0
/// removes the file once every rank has joined (remove()).
///
/// Threading: stateless; each call touches only its own file.
class RendezvousFile {
 public:
  RendezvousFile(std::filesystem::path dir, std::string name)
      : path_(std::move(dir) / std::move(name)) {}

  const std::filesystem::path& path() const { return path_; }
  /// Creates the folder when missing. kUnavailable naming the path when it cannot write.
  Status publish(std::string_view bytes) const;
  /// The bytes, once the file holds `size` of them; kUnavailable naming the path after
  /// `timeout`, kDataLoss when the file holds more than `size` bytes.
  Expected<std::string> await(std::size_t size, std::chrono::duration<double> timeout) const;
  /// Removes the file (a missing one is fine).
  void remove() const;

 private:
  std::filesystem::path path_;
};

/// The key that tells one job's rendezvous file from another's: `configured` when not empty,
/// else the launcher's job id (PMIX_NAMESPACE, SLURM_JOB_ID.SLURM_STEP_ID,
/// OMPI_MCA_ess_base_jobid), else "job". Only letters, digits, '.', '-' and '_' are kept.
std::string rendezvousKey(const std::string& configured);

}  // namespace aimass::plugins::collective
