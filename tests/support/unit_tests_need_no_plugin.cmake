# SPDX-License-Identifier: Apache-2.0
# CoreUnitTests.NeedNoPlugin (tests/CMakeLists.txt): fails, listing them, when core's unit tests
# link or depend on a plugin target. USES is the file configure wrote, one finding a line;
# COUNT how many unit test targets it looked at (none would prove nothing).
file(READ ${USES} uses)
if(NOT COUNT GREATER 0)
  message(FATAL_ERROR "no unit test targets were checked")
endif()
if(NOT uses STREQUAL "")
  message(FATAL_ERROR "core's unit tests must build and pass with no plugin present "
                      "(AIMASS_BUILD_PLUGINS=OFF), but:\n${uses}")
endif()
message(STATUS "${COUNT} unit test targets need no plugin")
