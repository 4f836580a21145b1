#pragma once
namespace loom {
// Registers every model family's models (called once from register_all()).
void register_models();
}  // namespace loom
