// SPDX-License-Identifier: Apache-2.0
#include "rendezvous_file.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <system_error>
#include <thread>

namespace aimass::plugins::collective {

Status RendezvousFile::publish(std::string_view bytes) const {
  std::error_code error;
  std::filesystem::create_directories(path_.parent_path(), error);
  const auto temporary = path_.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      return unavailable("rendezvous: cannot write " + temporary +
                         (error ? " (" + error.message() + ")" : std::string()));
    }
  }
  std::filesystem::rename(temporary, path_, error);
  if (error) {
    std::filesystem::remove(temporary);
    return unavailable("rendezvous: cannot rename " + temporary + " to " + path_.string() + ": " +
                       error.message());
  }
  return Status();
}

Expected<std::string> RendezvousFile::await(std::size_t size,
                                            std::chrono::duration<double> timeout) const {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
  for (;;) {
    std::ifstream in(path_, std::ios::binary);
    if (in) {
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (bytes.size() == size) {
        return bytes;
      }
      if (bytes.size() > size) {
        return dataLoss("rendezvous: " + path_.string() + " holds " + std::to_string(bytes.size()) +
                        " bytes, expected " + std::to_string(size) +
                        " (a file of another program?)");
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return unavailable("rendezvous: rank 0 did not write " + path_.string() + " within " +
                         std::to_string(timeout.count()) +
                         " s (is the folder shared by every rank, and did rank 0 start?)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void RendezvousFile::remove() const {
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

std::string rendezvousKey(const std::string& configured) {
  std::string key = configured;
  if (key.empty()) {
    if (const char* ns = std::getenv("PMIX_NAMESPACE")) {
      key = ns;
    } else if (const char* job = std::getenv("SLURM_JOB_ID")) {
      const char* step = std::getenv("SLURM_STEP_ID");
      key = std::string(job) + "." + (step != nullptr ? step : "0");
    } else if (const char* ompi = std::getenv("OMPI_MCA_ess_base_jobid")) {
      key = ompi;
    } else {
      key = "job";
    }
  }
  std::string safe;
  for (char c : key) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') {
      safe += c;
    }
  }
  return safe.empty() ? "job" : safe;
}

}  // namespace aimass::plugins::collective
