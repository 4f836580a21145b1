#pragma once
// Environment variables as launchers (torchrun, SLURM) set them: empty counts as unset, and a value that
// does not parse is a UserError naming the variable.
#include <cstdint>

namespace loom {

// The value, or nullptr when unset or empty.
const char* env_value(const char* name);
// An integer in [min, max]; `fallback` when unset.
int64_t env_int(const char* name, int64_t fallback, int64_t min, int64_t max);
// The same, but a missing variable is an error that says why it is needed.
int64_t required_env_int(const char* name, const char* because, int64_t min, int64_t max);
// True / true / 1 or False / false / 0; false when unset.
bool env_bool(const char* name);

// The machine's logical cores (at least 1): the cap on thread counts a config asks for.
int64_t machine_cores();

}  // namespace loom
