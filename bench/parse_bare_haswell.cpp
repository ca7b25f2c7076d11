/* parse_bare_haswell.cpp - parse_bare.cpp built for AVX2 CPUs (simdjson's
 * haswell kernel), with the flags of pipeline/parse/json_shim_haswell.cpp
 * (bench/CMakeLists.txt reads them from that file). Only used when our
 * parser runs its haswell shim, so the CPU has been checked already.
 */
#define AF_BARE_VARIANT      haswell
#define AF_BARE_VARIANT_NAME "haswell"
#include "bench/parse_bare.cpp"
