// SPDX-License-Identifier: Apache-2.0
// openapi_recorded_check DOCUMENT LOG: checks every HTTP exchange the frontend's test suites
// recorded in LOG ($AIMASS_HTTP_EXCHANGE_LOG, tests/support/http_exchange_log.h) against the
// OpenAPI DOCUMENT (tests/support/openapi_contract.h). Prints each violation and how many
// exchanges each documented operation had; exits 1 when an exchange breaks the document or a
// record of the log is cut short, else 0. No log at all passes: the tests ctest selected
// (ctest -R) made no exchange. ctest runs it after the suites (the openapi_exchanges fixture,
// plugins/frontend/http/test/CMakeLists.txt); HttpExchangeLogTest checks the recording itself.
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <string>

#include "http_exchange_log.h"
#include "openapi_contract.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: openapi_recorded_check DOCUMENT LOG\n";
    return 2;
  }
  try {
    const aimass::testing::OpenApiContract contract(argv[1]);
    if (!std::filesystem::exists(argv[2])) {
      std::cout << argv[2] << " does not exist: the tests that ran recorded no exchange\n";
      return 0;
    }
    const auto exchanges = aimass::testing::readHttpExchanges(argv[2]);
    if (!exchanges) {
      std::cerr << argv[2] << ": unreadable, or a record in it is cut short\n";
      return 1;
    }
    std::map<std::string, int> per_operation;
    int violations = 0;
    for (const auto& exchange : *exchanges) {
      const std::string operation = contract.operationOf(exchange.method, exchange.target);
      if (!operation.empty()) {
        ++per_operation[operation];
      }
      for (const std::string& problem : contract.violations(exchange)) {
        std::cerr << "violation: " << problem << "\n";
        ++violations;
      }
    }
    for (const auto& [operation, count] : per_operation) {
      std::cout << count << "\t" << operation << "\n";
    }
    std::cout << exchanges->size() << " exchanges recorded, " << per_operation.size()
              << " documented operations exercised, " << violations << " violations\n";
    return violations == 0 ? 0 : 1;
  } catch (const YAML::Exception& e) {
    std::cerr << argv[1] << ": " << e.what() << "\n";
    return 1;
  }
}
