#include "data/synthetic/faces.h"

#include <ATen/ops/empty.h>

#include <algorithm>

#include "core/error.h"
#include "core/text/cat.h"
#include "core/text/join.h"
#include "data/image_io.h"
#include "data/random.h"
#include "data/synthetic/face_styles.h"

namespace loom::data {

std::vector<std::string> face_style_choices() {
  std::vector<std::string> out{"none"};
  const auto& styles = face_style_names();
  out.insert(out.end(), styles.begin(), styles.end());
  return out;
}

SyntheticFaces::SyntheticFaces(const SyntheticFacesOptions& options, const std::string& path)
    : world_(options.world, path), size_(options.size), style_(options.style) {
  const auto choices = face_style_choices();
  if (std::find(choices.begin(), choices.end(), style_) == choices.end())
    throw UserError(cat(path, ".style: '", style_, "' is not one of ", join(choices, ", ")));
  if (size_ < 1) throw UserError(cat(path, ".size: must be at least 1, got ", size_));
}

Sample SyntheticFaces::get(int64_t index, std::mt19937_64& /*rng: a face is fixed by its index*/) const {
  const SyntheticFace face = world_.render(index);
  Sample s;
  at::Tensor landmarks = at::empty({68, 2}, at::kFloat);
  auto l = landmarks.accessor<float, 2>();
  for (int64_t k = 0; k < 68; ++k) {
    l[k][0] = static_cast<float>(face.landmarks[static_cast<size_t>(k)].x);
    l[k][1] = static_cast<float>(face.landmarks[static_cast<size_t>(k)].y);
  }
  s.tensors["landmarks"] = landmarks;
  if (style_ == "none") {
    s.tensors["image"] = to_tensor(face.image);
  } else {
    s.tensors["image"] = to_tensor(stylise_face(face.image, style_, mix_seed({world_.face_seed(index), 0x73747931})));
    s.tensors["photo"] = to_tensor(face.image);
  }
  return s;
}

std::string SyntheticFaces::describe() const {
  const auto& o = world_.options();
  return cat("synthetic_faces ", o.split, " (", size_, " ", o.aligned ? "aligned " : "", "faces of ", o.image_size,
             "px, style ", style_, ", seed ", o.seed, ")");
}

}  // namespace loom::data
