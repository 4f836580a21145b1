#pragma once
// A random-access dataset. Random augmentations draw from the generator the loader passes in, which
// is seeded from (seed, epoch, index): a sample is the same whichever worker thread builds it.
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>

#include "data/sample.h"

namespace loom::data {

// An example that cannot be read (missing or undecodable file). The loader skips and counts it.
struct BadSample : std::runtime_error {
  BadSample(std::string path, const std::string& why) : std::runtime_error(why), path(std::move(path)) {}
  std::string path;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Thread-safe. Throws BadSample for an unreadable example.
  virtual Sample get(int64_t index, std::mt19937_64& rng) const = 0;
  // One line for logs: "image_folder /data/x (1200 images, 10 classes)".
  virtual std::string describe() const = 0;
  // Class names where the dataset has classes (label i is classes()[i]); empty otherwise.
  virtual std::vector<std::string> classes() const { return {}; }
};

}  // namespace loom::data
