#pragma once
// The one place that registers every family's models, losses, optimizers, schedules, datasets and
// recipes. It lives in the application layer because it names all of them; lower layers only declare
// their own register_<family>() functions.
namespace loom {

// Registers everything once (idempotent, thread-safe). Entry points (the CLI, test mains, benchmarks)
// call it before they read a config.
void register_all();

}  // namespace loom
