#pragma once
namespace loom {
// Registers the optimizers (adam, adamw, sgd) and learning-rate schedules (called from register_all()).
void register_optimizers();
void register_schedules();
}  // namespace loom
