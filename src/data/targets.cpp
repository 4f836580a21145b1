#include "data/targets.h"

#include <ATen/ops/from_blob.h>
#include <ATen/ops/index_select.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "core/text/cat.h"

namespace loom::data {

namespace {

// A private float copy to edit in place: the dataset may hold on to the tensor it passed in.
void own_float(at::Tensor& t) {
  if (t.defined()) t = t.to(at::kCPU).to(at::kFloat).contiguous().clone();
}

void select_rows(at::Tensor& t, const at::Tensor& rows) {
  if (t.defined()) t = at::index_select(t, 0, rows);
}

}  // namespace

int64_t Targets::size() const {
  int64_t k = -1;
  auto check = [&k](const at::Tensor& t, const std::string& name) {
    if (!t.defined()) return;
    if (t.dim() < 1) throw std::invalid_argument(cat("targets: '", name, "' needs a first (instance) dimension"));
    if (k >= 0 && t.size(0) != k)
      throw std::invalid_argument(cat("targets: '", name, "' has ", t.size(0), " instances, the others ", k));
    k = t.size(0);
  };
  check(boxes, "boxes");
  check(keypoints, "keypoints");
  check(masks, "masks");
  for (const auto& [name, t] : attributes) check(t, name);
  if (boxes.defined() && (boxes.dim() != 2 || boxes.size(1) != 4))
    throw std::invalid_argument(cat("targets: boxes must be [K, 4], not ", boxes.sizes()));
  if (keypoints.defined() && (keypoints.dim() != 3 || keypoints.size(2) != 3))
    throw std::invalid_argument(cat("targets: keypoints must be [K, P, 3], not ", keypoints.sizes()));
  return std::max<int64_t>(k, 0);
}

void flip_targets(Targets& targets, int width) {
  own_float(targets.boxes);
  own_float(targets.keypoints);
  const float w = static_cast<float>(width);
  if (targets.boxes.defined()) {
    auto b = targets.boxes.accessor<float, 2>();
    for (int64_t i = 0; i < b.size(0); ++i) {
      const float x1 = b[i][0], x2 = b[i][2];
      b[i][0] = w - x2;
      b[i][2] = w - x1;
    }
  }
  if (targets.keypoints.defined()) {
    auto k = targets.keypoints.accessor<float, 3>();
    for (int64_t i = 0; i < k.size(0); ++i)
      for (int64_t p = 0; p < k.size(1); ++p) k[i][p][0] = w - k[i][p][0];
  }
}

void scale_targets(Targets& targets, double sx, double sy) {
  own_float(targets.boxes);
  own_float(targets.keypoints);
  if (targets.boxes.defined()) {
    auto b = targets.boxes.accessor<float, 2>();
    for (int64_t i = 0; i < b.size(0); ++i)
      for (int c = 0; c < 4; ++c) b[i][c] = static_cast<float>(b[i][c] * (c % 2 == 0 ? sx : sy));
  }
  if (targets.keypoints.defined()) {
    auto k = targets.keypoints.accessor<float, 3>();
    for (int64_t i = 0; i < k.size(0); ++i)
      for (int64_t p = 0; p < k.size(1); ++p) {
        k[i][p][0] = static_cast<float>(k[i][p][0] * sx);
        k[i][p][1] = static_cast<float>(k[i][p][1] * sy);
      }
  }
}

std::vector<int64_t> crop_targets(Targets& targets, int left, int top, int width, int height) {
  const int64_t count = targets.size();
  own_float(targets.boxes);
  own_float(targets.keypoints);
  const float dx = static_cast<float>(left), dy = static_cast<float>(top);
  const float w = static_cast<float>(width), h = static_cast<float>(height);
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < count; ++i) kept.push_back(i);
  if (targets.keypoints.defined()) {
    auto k = targets.keypoints.accessor<float, 3>();
    for (int64_t i = 0; i < k.size(0); ++i)
      for (int64_t p = 0; p < k.size(1); ++p) {
        const float x = k[i][p][0] -= dx, y = k[i][p][1] -= dy;
        if (!(x >= 0 && x <= w && y >= 0 && y <= h)) k[i][p][2] = 0;
      }
  }
  if (!targets.boxes.defined()) return kept;
  kept.clear();
  auto b = targets.boxes.accessor<float, 2>();
  for (int64_t i = 0; i < count; ++i) {
    const float x1 = std::clamp(b[i][0] - dx, 0.0f, w), x2 = std::clamp(b[i][2] - dx, 0.0f, w);
    const float y1 = std::clamp(b[i][1] - dy, 0.0f, h), y2 = std::clamp(b[i][3] - dy, 0.0f, h);
    b[i][0] = x1, b[i][1] = y1, b[i][2] = x2, b[i][3] = y2;
    if (x2 > x1 && y2 > y1) kept.push_back(i);
  }
  if (static_cast<int64_t>(kept.size()) == count) return kept;
  targets.removed += count - static_cast<int64_t>(kept.size());
  const at::Tensor rows = at::from_blob(kept.data(), {static_cast<int64_t>(kept.size())}, at::kLong).clone();
  select_rows(targets.boxes, rows);
  select_rows(targets.keypoints, rows);
  for (auto& [name, t] : targets.attributes) select_rows(t, rows);
  return kept;  // masks: GeometricOp selects them after cropping
}

void add_targets(Sample& sample, const Targets& targets, const std::string& prefix, RaggedCollate collate,
                 double pad_value) {
  targets.size();  // validates
  auto add = [&](const std::string& name, const at::Tensor& t, double pad) {
    if (t.defined()) sample.ragged[prefix + name] = RaggedField{t, collate, pad};
  };
  add("boxes", targets.boxes, pad_value);
  add("keypoints", targets.keypoints, pad_value);
  add("masks", targets.masks, 0);
  for (const auto& [name, t] : targets.attributes) add(name, t, pad_value);
}

}  // namespace loom::data
