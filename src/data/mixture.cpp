#include "data/mixture.h"

#include <ATen/ops/full.h>
#include <ATen/ops/scalar_tensor.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "core/config/config_schema.h"
#include "core/error.h"
#include "core/registry/registries.h"
#include "core/text/cat.h"
#include "data/random.h"

namespace loom::data {

struct Mixture::Keys {
  struct Tensor {
    std::vector<int64_t> shape;  // ragged: the shape after the first dimension
    at::ScalarType type = at::kFloat;
    RaggedCollate collate = RaggedCollate::list;
    double pad_value = 0;
  };
  std::map<std::string, Tensor> tensors, ragged;
  std::vector<std::string> text;
};

namespace {

constexpr int64_t kProbeTries = 8;

// One sample of the source, for its keys: the first readable of its first few.
Sample probe(const Mixture::Source& source) {
  std::mt19937_64 rng(0);
  std::string why;
  for (int64_t i = 0; i < std::min(kProbeTries, source.dataset->size()); ++i) {
    try {
      return source.dataset->get(i, rng);
    } catch (const BadSample& e) {
      why = cat(e.path, " (", e.what(), ")");
    }
  }
  throw UserError(cat("mixture source '", source.name, "' (", source.dataset->describe(), "): none of its first ",
                      kProbeTries, " samples can be read, e.g. ", why.empty() ? "it is empty" : why));
}

}  // namespace

Mixture::Mixture(std::vector<Source> sources, int64_t size, double fill) : sources_(std::move(sources)), fill_(fill) {
  if (sources_.empty()) throw std::invalid_argument("mixture: no sources");
  double total = 0;
  int64_t samples = 0;
  for (const auto& s : sources_) {
    if (!(s.weight >= 0) || !std::isfinite(s.weight))
      throw std::invalid_argument(cat("mixture: weight of '", s.name, "'"));
    total += s.weight;
    cumulative_.push_back(total);
    samples += s.dataset->size();
  }
  if (!(total > 0)) throw std::invalid_argument("mixture: the weights sum to 0");
  size_ = size > 0 ? size : samples;

  auto keys = std::make_shared<Keys>();
  for (const auto& s : sources_) {
    const Sample sample = probe(s);
    if (sample.tensors.count("source") || sample.ragged.count("source"))
      throw UserError(cat("mixture source '", s.name, "' already has a tensor 'source'"));
    for (const auto& [key, t] : sample.tensors)
      keys->tensors.try_emplace(key, Keys::Tensor{t.sizes().vec(), t.scalar_type()});
    for (const auto& [key, f] : sample.ragged) {
      std::vector<int64_t> tail = f.value.dim() > 0 ? f.value.sizes().slice(1).vec() : std::vector<int64_t>{};
      keys->ragged.try_emplace(key, Keys::Tensor{tail, f.value.scalar_type(), f.collate, f.pad_value});
    }
    for (const auto& [key, text] : sample.text)
      if (std::find(keys->text.begin(), keys->text.end(), key) == keys->text.end()) keys->text.push_back(key);
  }
  keys_ = std::move(keys);
}

Sample Mixture::get(int64_t, std::mt19937_64& rng) const {
  const double u = uniform01(rng) * cumulative_.back();
  const size_t s = std::min<size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin(),
                                    sources_.size() - 1);
  const Dataset& dataset = *sources_[s].dataset;
  Sample sample = dataset.get(uniform_int(rng, 0, dataset.size() - 1), rng);
  for (const auto& [key, k] : keys_->tensors)
    if (!sample.tensors.count(key)) sample.tensors[key] = at::full(k.shape, fill_, k.type);
  for (const auto& [key, k] : keys_->ragged)
    if (!sample.ragged.count(key)) {
      std::vector<int64_t> shape{0};
      shape.insert(shape.end(), k.shape.begin(), k.shape.end());
      sample.ragged[key] = RaggedField{at::full(shape, fill_, k.type), k.collate, k.pad_value};
    }
  for (const auto& key : keys_->text) sample.text.try_emplace(key, "");
  sample.tensors["source"] = at::scalar_tensor(static_cast<int64_t>(s), at::kLong);
  return sample;
}

std::string Mixture::describe() const {
  std::string parts;
  const double total = cumulative_.back();
  for (size_t i = 0; i < sources_.size(); ++i)
    parts += cat(i ? "; " : "", i, " ", sources_[i].name, " (", std::round(1000.0 * sources_[i].weight / total) / 10.0,
                 "%): ", sources_[i].dataset->describe());
  return cat("mixture of ", sources_.size(), " sources (", size_, " samples an epoch): ", parts);
}

std::shared_ptr<Mixture> make_mixture(const ConfigNode& section, const std::string& path) {
  const auto options = read_config<MixtureOptions>(section, path);
  const std::string sources_path = path + ".sources";
  const ConfigNode* sources_node = section.find("sources");
  if (options.sources.empty())
    config_detail::fail(sources_node ? *sources_node : section, sources_path, "needs at least one source");
  std::vector<Mixture::Source> sources;
  double total = 0;
  for (size_t i = 0; i < options.sources.size(); ++i) {
    const MixtureSourceOptions& o = options.sources[i];
    const std::string at = cat(sources_path, "[", i, "]");
    const ConfigNode& item = sources_node->items()[i];
    if (!std::isfinite(o.weight)) config_detail::fail(*item.find("weight"), at + ".weight", "must be a finite number");
    total += o.weight;
    const std::string dataset_path = at + ".dataset";
    const std::string kind = registered_name(dataset_registry(), o.dataset, dataset_path);
    if (kind == "mixture") config_detail::fail(o.dataset, dataset_path, "a mixture cannot be a source of a mixture");
    sources.push_back(
        {o.name.empty() ? kind : o.name, o.weight, dataset_registry().get(kind)(o.dataset, dataset_path)});
  }
  if (!(total > 0))
    config_detail::fail(*sources_node, sources_path, "the weights sum to 0: give at least one source a weight above 0");
  return std::make_shared<Mixture>(std::move(sources), options.size, options.fill);
}

}  // namespace loom::data
