/* json_shim_haswell.cpp - json_shim.cpp built for AVX2 CPUs (simdjson's
 * haswell kernel). CMake compiles this file with -mavx2 -mbmi -mbmi2
 * -mpclmul -mlzcnt; json.cpp only calls it after checking the CPU.
 */
#define AF_JSHIM_VARIANT haswell
#define AF_JSHIM_NAME "haswell"
#include "pipeline/parse/json_shim.cpp"
