// SPDX-License-Identifier: MIT
#pragma once

// The property checks of the fuzz targets: a failed one names itself and aborts, which libFuzzer
// reports as a crash and keeps the input for.

#include <cstdio>
#include <cstdlib>

#define FUZZ_REQUIRE(condition)                                                                    \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #condition);  \
            std::abort();                                                                          \
        }                                                                                          \
    } while (false)
