#pragma once
// Procedural artistic styles that turn any face image into a stylisation target (few-shot
// stylisation experiments without an artist's dataset): seeded, so that a style is a family of
// looks, and a pure function of (image, style, seed).
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace loom::data {

// pencil_sketch: grey dodge-blend sketch with hatching on textured paper; posterised_paint: colour
// quantisation after edge-preserving smoothing, with brush-stroke texture; colour_ink: dark ink
// outlines over flat, light colour washes on paper.
const std::vector<std::string>& face_style_names();

// `image` (uint8 RGB) in the named style, the same size and type. Throws std::invalid_argument naming
// an unknown style and listing the known ones, or for an image that is not uint8 RGB.
cv::Mat stylise_face(const cv::Mat& image, const std::string& style, uint64_t seed);

}  // namespace loom::data
