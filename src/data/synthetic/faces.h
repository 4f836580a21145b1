#pragma once
// Dataset `synthetic_faces`: the face world (data/synthetic/face_world.h) rendered on the fly, in the
// wild or aligned, optionally in a procedural style (data/synthetic/face_styles.h), with its exact
// landmarks: for landmark and alignment checks, face-crop pipelines and stylisation experiments.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/synthetic/face_world.h"

namespace loom::data {

// "none" and the face styles: what the dataset's `style` accepts.
std::vector<std::string> face_style_choices();

struct SyntheticFacesOptions {
  std::string name = "synthetic_faces";
  int64_t size = 10000;
  FaceWorldOptions world;  // its keys sit beside these (seed, split, image_size, aligned, ...)
  std::string style = "none";

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("size", size, {.help = "faces in the dataset (face i is the same in every run with the same options)", .min = 1});
    world.visit(v);
    v("style", style,
      {.help = "none, or the procedural style the images are rendered in (each face its own seeded variant)",
       .choices = face_style_choices()});
  }
};

// Samples: tensors {"image": float [3, H, W] in [0, 1], "landmarks": float [68, 2]} (dlib's 68 points
// in pixel indices of the image, pixel (x, y) centred on (x, y)); with a style, also "photo": the
// unstyled face (float [3, H, W]), the pair a stylisation model learns from. No transforms: the
// landmarks are exact for the image as given.
class SyntheticFaces : public Dataset {
 public:
  // `path` is the options' key in the config, for error messages; throws UserError naming the key of a
  // bad option.
  explicit SyntheticFaces(const SyntheticFacesOptions& options, const std::string& path = "dataset");

  int64_t size() const override { return size_; }
  Sample get(int64_t index, std::mt19937_64& rng) const override;
  std::string describe() const override;

  const FaceWorld& world() const { return world_; }

 private:
  FaceWorld world_;
  int64_t size_;
  std::string style_;
};

}  // namespace loom::data
