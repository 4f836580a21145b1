#pragma once
// Dataset `mixture`: samples drawn from several datasets by weight, each tagged with its source, e.g.
//   data:
//     train:
//       name: mixture
//       sources:
//         - {name: captions, weight: 0.7, dataset: {name: caption_table, path: data/captions.tsv}}
//         - {name: classes, weight: 0.3, dataset: {name: image_folder, root: data/classes}}
// Sample i draws, from the generator the loader seeds with (seed, epoch, i), a source with probability
// weight / sum of weights and then one of its samples uniformly (so sources of any size mix in the
// given proportions). Every sample gets tensor "source" (int64 [], the source's position in the list),
// and the keys of all sources: where a source lacks a tensor it is filled with `fill` (shape and type
// from a source that has it), a ragged field is empty, a text is "" — so samples of every source
// batch together and "source" tells which fields are real.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config_node.h"
#include "data/dataset.h"

namespace loom::data {

struct MixtureSourceOptions {
  std::string name;
  double weight = 1.0;
  ConfigNode dataset;

  template <class V>
  void visit(V& v) {
    v("name", name, {.help = "what describe() and logs call the source (default: its dataset's name)"});
    v("weight", weight, {.help = "relative frequency of the source's samples", .min = 0.0});
    v("dataset", dataset, {.help = "the source's dataset section (name: and its options)", .required = true});
  }
};

struct MixtureOptions {
  std::string name = "mixture";
  std::vector<MixtureSourceOptions> sources;
  int64_t size = 0;
  double fill = -1;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("sources", sources, {.help = "list of {name, weight, dataset}", .required = true});
    v("size", size, {.help = "samples an epoch (0: the sum of the sources' sizes)", .min = 0});
    v("fill", fill, {.help = "value of tensors that a sample's source does not have"});
  }
};

class Mixture : public Dataset {
 public:
  struct Source {
    std::string name;
    double weight = 1.0;
    std::shared_ptr<const Dataset> dataset;
  };

  // Weights >= 0, not all 0 (std::invalid_argument otherwise; make_mixture reports config errors).
  // Reads one sample of each source to learn its keys; throws UserError when none can be read or a
  // source already has a "source" tensor.
  Mixture(std::vector<Source> sources, int64_t size = 0, double fill = -1);

  int64_t size() const override { return size_; }
  Sample get(int64_t index, std::mt19937_64& rng) const override;
  std::string describe() const override;
  const std::vector<Source>& sources() const { return sources_; }

 private:
  struct Keys;
  std::vector<Source> sources_;
  std::vector<double> cumulative_;  // running sums of the weights
  int64_t size_;
  double fill_;
  std::shared_ptr<const Keys> keys_;  // every source's tensor, ragged and text keys
};

// From a config section (`path` is its key, e.g. "dataset"): builds every source through the dataset
// registry. Throws ConfigError naming the key: no sources (<path>.sources), a negative weight
// (<path>.sources[i].weight), weights that sum to 0.
std::shared_ptr<Mixture> make_mixture(const ConfigNode& section, const std::string& path);

}  // namespace loom::data
