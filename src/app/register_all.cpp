#include "app/register_all.h"

#include <mutex>

#include "data/register.h"
#include "losses/register.h"
#include "models/register.h"
#include "train/optim/register.h"
#include "train/recipes/register.h"

namespace loom {

void register_all() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_models();
    register_losses();
    register_optimizers();
    register_schedules();
    data::register_datasets();
    register_recipes();
  });
}

}  // namespace loom
