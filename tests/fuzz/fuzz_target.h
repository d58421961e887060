// The entry point each fuzz target defines: libFuzzer calls it, and so does
// replay_main.cc, once per corpus file. Declared here so that each
// definition has its declaration (-Wmissing-declarations).
#ifndef NPZFS_TESTS_FUZZ_FUZZ_TARGET_H_
#define NPZFS_TESTS_FUZZ_FUZZ_TARGET_H_

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

#endif  // NPZFS_TESTS_FUZZ_FUZZ_TARGET_H_
