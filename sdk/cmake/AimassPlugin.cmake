# SPDX-License-Identifier: Apache-2.0
#
# aimass_add_plugin(<target> KIND <kind> NAME <name> SOURCES <src>...
#                   [LIBRARIES <lib>...] [NO_INSTALL])
#
# Builds libaimass_<kind>_<name>.so as a MODULE library against aimass::sdk with hidden
# visibility and a version script, so the Boost.DLL alias `aimass_plugin_entry` is the only
# exported symbol. Installs it where the host looks: <prefix>/lib/aimass/plugins.
include_guard(GLOBAL)

function(aimass_add_plugin target)
  cmake_parse_arguments(P "NO_INSTALL" "KIND;NAME;OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT P_KIND OR NOT P_NAME OR NOT P_SOURCES)
    message(FATAL_ERROR "aimass_add_plugin(${target}): KIND, NAME and SOURCES are required")
  endif()
  add_library(${target} MODULE ${P_SOURCES})
  target_link_libraries(${target} PRIVATE aimass::sdk ${P_LIBRARIES})
  if(TARGET aimass_warnings)
    target_link_libraries(${target} PRIVATE aimass_warnings)
  endif()
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME aimass_${P_KIND}_${P_NAME}
    PREFIX lib
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    CXX_STANDARD 20
    CXX_STANDARD_REQUIRED ON)
  if(AIMASS_PLUGIN_VERSION_SCRIPT)
    target_link_options(${target} PRIVATE
      "LINKER:--version-script=${AIMASS_PLUGIN_VERSION_SCRIPT}" "LINKER:--no-undefined")
  endif()
  if(P_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIRECTORY})
  elseif(AIMASS_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${AIMASS_PLUGIN_OUTPUT_DIR})
  endif()
  if(NOT P_NO_INSTALL)
    if(NOT AIMASS_PLUGIN_INSTALL_DIR)
      include(GNUInstallDirs)
      set(AIMASS_PLUGIN_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/aimass/plugins)
    endif()
    install(TARGETS ${target} LIBRARY DESTINATION ${AIMASS_PLUGIN_INSTALL_DIR})
  endif()
endfunction()
