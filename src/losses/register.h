#pragma once
namespace loom {
// Registers every loss (called once from register_all()).
void register_losses();
}  // namespace loom
