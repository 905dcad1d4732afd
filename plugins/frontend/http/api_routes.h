// SPDX-License-Identifier: Apache-2.0
// What the /api/v1 route files (registry_routes.cc, job_routes.cc) share: answers, errors,
// path parameters and the list routes are added to. Threading: no shared state.
#pragma once

#include <Poco/JSON/Object.h>

#include <charconv>
#include <exception>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/http.h"
#include "aimass/status.h"

namespace aimass::plugins::frontend {

/// A refused change (an alias in the way, nothing to roll back to) is a conflict with the
/// registry's state, not an unavailable server.
inline int apiStatusFor(const Status& status) {
  if (status.code() == StatusCode::kFailedPrecondition) {
    return 409;
  }
  return httpStatusFor(status);
}

inline void fail(HttpResponse& response, const Status& status) {
  jsonError(response, apiStatusFor(status), status.message());
}

inline void answer(HttpResponse& response, std::string body) {
  response.status = 200;
  response.content_type = "application/json";
  response.body = std::move(body);
}

/// Answers `render(*result)`, or the error of `result`.
template <typename T, typename Render>
void answerWith(HttpResponse& response, const Expected<T>& result, Render render) {
  if (!result.ok()) {
    fail(response, result.status());
    return;
  }
  answer(response, render(*result));
}

inline const std::string& param(const HttpRequest& request, const std::string& name) {
  static const std::string kEmpty;
  auto it = request.path_params.find(name);
  return it == request.path_params.end() ? kEmpty : it->second;
}

inline Expected<std::int64_t> positiveNumber(std::string_view text, std::string_view what) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < 1) {
    return invalidArgument(std::string(what) + " must be a whole number from 1, got '" +
                           std::string(text) + "'");
  }
  return value;
}

using Handler = std::function<void(const HttpRequest&, HttpResponse&)>;

/// Wraps a handler so that nothing escapes it: a last-resort 500 naming the failure.
inline RouteHandler guarded(Handler handler) {
  return [handler = std::move(handler)](const HttpRequest& request, HttpResponse& response) {
    try {
      handler(request, response);
    } catch (const std::exception& e) {
      jsonError(response, 500, std::string("registry API failure: ") + e.what());
    } catch (...) {
      jsonError(response, 500, "registry API failure");
    }
  };
}

/// Adds routes to a list, each with the same owner.
class RouteList {
 public:
  explicit RouteList(const std::string& owner) : owner_(owner) {}

  void add(std::string method, std::string pattern, std::string summary, Role role,
           Handler handler) {
    Route route;
    route.method = std::move(method);
    route.pattern = std::move(pattern);
    route.summary = std::move(summary);
    route.owner = owner_;
    route.role = role;
    route.handler = guarded(std::move(handler));
    routes_.push_back(std::move(route));
  }

  std::vector<Route> take() { return std::move(routes_); }

 private:
  const std::string& owner_;
  std::vector<Route> routes_;
};

/// Only the keys in `allowed` may appear in `object`.
inline Status onlyKeys(const Poco::JSON::Object& object, const std::set<std::string>& allowed,
                       std::string_view what) {
  for (const auto& [key, value] : object) {
    if (allowed.count(key) == 0) {
      std::string known;
      for (const auto& name : allowed) {
        known += (known.empty() ? "'" : ", '") + name + "'";
      }
      return invalidArgument("unknown field '" + key + "' in the body of " + std::string(what) +
                             " (fields: " + known + ")");
    }
  }
  return Status();
}

}  // namespace aimass::plugins::frontend
