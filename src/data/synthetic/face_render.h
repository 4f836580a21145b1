#pragma once
// Drawing a synthetic face into its canvas (data/synthetic/face_paint.h) from its shape
// (data/synthetic/face_geometry.h): every feature is placed from the landmarks or the shape's
// proportions, so what is drawn is where the landmarks say.
#include <random>
#include <string>
#include <vector>

#include <opencv2/core/matx.hpp>

#include "data/synthetic/face_geometry.h"
#include "data/synthetic/face_paint.h"

namespace loom::data {

// Colours and accessories of one face (RGB in [0, 1]).
struct FaceLook {
  cv::Vec3f skin, hair, iris, lips, clothing, frame;
  int hair_style = 0;  // an index of face_hair_styles()
  bool glasses = false;
  double light = 0;  // where the light comes from: -1 the image's left, 1 its right
};

// short, long, bob, fringe, buzz, curly.
const std::vector<std::string>& face_hair_styles();

FaceLook random_face_look(std::mt19937_64& rng, double glasses_probability);

// Neck and shoulders, head, ears, skin shading, eyes, brows, nose, mouth, hair and glasses; `rng`
// draws only texture (hair strands).
void draw_portrait(FaceCanvas& canvas, const FaceShape& shape, const FaceLook& look, std::mt19937_64& rng);

}  // namespace loom::data
