// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The plugin ABI. MAJOR changes when any SDK interface changes incompatibly (a virtual added,
/// removed or reordered, a struct's layout changed); MINOR when something is added that old
/// plugins do not need to know about (a new node kind, a new helper). The host loads a plugin
/// when the majors are equal and the plugin's minor is not newer than the host's.
#define AIMASS_ABI_MAJOR 13
#define AIMASS_ABI_MINOR 0

#define AIMASS_STRINGIFY_INNER(x) #x
#define AIMASS_STRINGIFY(x) AIMASS_STRINGIFY_INNER(x)

// Interfaces pass C++ objects (std::string, std::vector, std::function, virtual classes)
// across the boundary, so host and plugin must agree on the C++ ABI and standard library.
// The toolchain tag names exactly those: the C++ ABI, the standard library and its
// std::string/std::list layout. Compiler brand and version do not matter while these agree.
#if defined(__GLIBCXX__)
#define AIMASS_STDLIB_TAG "libstdc++-cxx11abi" AIMASS_STRINGIFY(_GLIBCXX_USE_CXX11_ABI)
#elif defined(_LIBCPP_VERSION)
#define AIMASS_STDLIB_TAG "libc++-abi" AIMASS_STRINGIFY(_LIBCPP_ABI_VERSION)
#else
#define AIMASS_STDLIB_TAG "unknown-stdlib"
#endif

#if defined(__x86_64__)
#define AIMASS_ARCH_TAG "x86_64"
#elif defined(__aarch64__)
#define AIMASS_ARCH_TAG "aarch64"
#else
#define AIMASS_ARCH_TAG "unknown-arch"
#endif

#if defined(__GNUC__) && !defined(_MSC_VER)
#define AIMASS_CXXABI_TAG "itanium"
#else
#define AIMASS_CXXABI_TAG "other-cxxabi"
#endif

/// e.g. "x86_64-itanium-libstdc++-cxx11abi1"
#define AIMASS_TOOLCHAIN_TAG AIMASS_ARCH_TAG "-" AIMASS_CXXABI_TAG "-" AIMASS_STDLIB_TAG
