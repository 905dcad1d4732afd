// SPDX-License-Identifier: Apache-2.0
#include "store_lease.h"

#include <unistd.h>

#include <chrono>

#include "aimass/util/number_text.h"

namespace aimass::core {

double wallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

LeaseValue LeaseValue::parse(const std::string& text) {
  LeaseValue v;
  const auto space = text.rfind(' ');
  if (space == std::string::npos) {
    return v;
  }
  v.token = text.substr(0, space);
  try {
    v.expiry = std::stod(text.substr(space + 1));
  } catch (const std::exception&) {
    v.expiry = 0;
  }
  return v;
}

std::string LeaseValue::text() const { return token + " " + formatNumber(expiry); }

bool holderGone(const std::string& token, const std::string& host) {
  const auto space = token.rfind(' ');
  if (space == std::string::npos || token.substr(0, space) != host) {
    return false;
  }
  long pid = 0;
  try {
    pid = std::stol(token.substr(space + 1));
  } catch (const std::exception&) {
    return false;
  }
  if (pid <= 0) {
    return false;
  }
  const std::optional<ProcStat> stat = readProcStat(pid);
  return !stat || stat->ended();
}

StoreLease::StoreLease(std::shared_ptr<Storage> storage, std::string key, double seconds,
                       std::string token)
    : storage_(std::move(storage)),
      key_(std::move(key)),
      seconds_(seconds),
      host_(token.empty() ? hostName() : token.substr(0, token.rfind(' '))),
      token_(token.empty() ? host_ + " " + std::to_string(getpid()) : std::move(token)) {}

Expected<bool> StoreLease::acquire() {
  if (value_) {
    AIMASS_ASSIGN_OR_RETURN(bool renewed, renew());
    if (renewed) return true;
  }
  auto current = storage_->get(key_);
  std::optional<std::string> expected;
  if (current.ok()) {
    const LeaseValue v = LeaseValue::parse(*current);
    last_holder_ = v.token;
    if (!current->empty() && v.expiry > wallSeconds() && !holderGone(v.token, host_)) {
      return false;
    }
    expected = *current;  // free, expired, or held by a process gone from this host
  } else if (current.status().code() != StatusCode::kNotFound) {
    return current.status();
  }
  const LeaseValue mine{token_, wallSeconds() + seconds_};
  AIMASS_ASSIGN_OR_RETURN(bool set, storage_->compareAndSet(key_, expected, mine.text()));
  if (!set) {
    return false;  // another process took it between the read and the write
  }
  value_ = mine.text();
  expiry_ = mine.expiry;
  last_holder_ = token_;
  return true;
}

Expected<bool> StoreLease::renew() {
  if (!value_) return false;
  const LeaseValue mine{token_, wallSeconds() + seconds_};
  AIMASS_ASSIGN_OR_RETURN(bool set, storage_->compareAndSet(key_, *value_, mine.text()));
  if (!set) {
    value_.reset();
    auto current = storage_->get(key_);
    last_holder_ = current.ok() ? LeaseValue::parse(*current).token : std::string();
    return false;
  }
  value_ = mine.text();
  expiry_ = mine.expiry;
  return true;
}

void StoreLease::release() {
  if (!value_) return;
  storage_->compareAndSet(key_, *value_, "").status().ignoreError();
  value_.reset();
}

bool StoreLease::held() const { return value_.has_value() && expiry_ > wallSeconds(); }

}  // namespace aimass::core
