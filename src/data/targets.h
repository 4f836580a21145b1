#pragma once
// Per-instance annotations of one image, which geometric transforms move with it (data/geometric_op.h).
//
// Coordinates are continuous pixels: the pixel in column x covers [x, x + 1), so its centre is x + 0.5
// and an image W pixels wide spans [0, W]. Boxes are (x1, y1, x2, y2) in these coordinates (a box
// around columns 2..4 is x1 = 2, x2 = 5); a keypoint on the centre of pixel (x, y) is (x + 0.5, y + 0.5).
// With this convention every step is one affine map of both: a resize by s maps u to u * s (as
// cv::resize maps pixel centres), a horizontal flip maps u to W - u, a crop at (left, top) subtracts them.
#include <cstdint>
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

#include "data/sample.h"

namespace loom::data {

struct Targets {
  at::Tensor boxes;      // float [K, 4] (x1, y1, x2, y2); or undefined
  at::Tensor keypoints;  // float [K, P, 3] (x, y, visibility; 0 = not visible); or undefined
  at::Tensor masks;      // uint8 [K, H, W] at the image's size; or undefined
  // Other per-instance tensors ([K, ...]: class labels, ids), kept or dropped with their instance.
  std::map<std::string, at::Tensor> attributes;
  // Instances dropped because a crop left their box without area (with their keypoints, masks and
  // attributes), summed over the transforms applied.
  int64_t removed = 0;

  int64_t size() const;  // K; throws std::invalid_argument when the fields disagree on it
};

// The instance transforms of one geometric step; masks are handled by GeometricOp with the image code.
void flip_targets(Targets& targets, int width);              // u -> width - u
void scale_targets(Targets& targets, double sx, double sy);  // (x, y) -> (x * sx, y * sy)
// Moves the origin to (left, top) and keeps what lies in [0, width] x [0, height]: boxes are clipped
// and removed (counted) when no area is left, keypoints outside become invisible. Returns the
// indices of the instances kept (for the masks).
std::vector<int64_t> crop_targets(Targets& targets, int left, int top, int width, int height);

// Adds the targets to a sample as ragged fields <prefix>boxes, <prefix>keypoints, <prefix>masks and
// <prefix><attribute>, each collated by `collate` (padded with pad_value; masks with 0).
void add_targets(Sample& sample, const Targets& targets, const std::string& prefix, RaggedCollate collate,
                 double pad_value = -1);

}  // namespace loom::data
