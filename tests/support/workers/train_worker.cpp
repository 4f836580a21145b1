// `loom train` with the test-only toy recipes registered: lets the trainer tests run those recipes as
// real processes (several ranks of a data-parallel job). usage: train_worker CONFIG [key=value ...]
#include <iostream>
#include <string>
#include <vector>

#include "core/config/config_loader.h"
#include "core/error.h"
#include "support/toy_recipes.h"
#include "train/trainer.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: train_worker CONFIG [key=value ...]\n";
    return 2;
  }
  try {
    loom::test::register_toy_recipes();
    loom::TrainResult result =
        loom::train(loom::load_config(argv[1], std::vector<std::string>(argv + 2, argv + argc)), argv[1]);
    std::cout << "finished after " << result.steps << " steps\n";
    return 0;
  } catch (const loom::UserError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
}
