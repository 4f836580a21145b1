#pragma once
// A synthetic image-caption world: scenes of 1..max_objects coloured shapes of three sizes in five
// regions over a named background, each with a set of captions, generated from (seed, split, index)
// alone so that any thread can render any scene. It serves contrastive training and zero-shot and
// retrieval evaluation (class names and prompts per attribute), compositional generalisation (some
// (shape, colour) pairs are held out of training), and open-vocabulary detection (pixel boxes, and
// "novel" shapes kept out of training).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace loom::data {

// What a label or class name names: the shape, the colour, or the pair ("red circle").
enum class ClassKind { shape, colour, shape_colour };

// "shape", "colour" or "shape_colour" -> the kind; throws std::invalid_argument for anything else.
ClassKind class_kind(const std::string& name);

// The attribute vocabularies; an attribute id indexes its list.
const std::vector<std::string>& scene_shapes();       // circle, square, triangle, star, cross, ...
const std::vector<std::string>& scene_colours();      // red, orange, yellow, green, ...
const std::vector<std::string>& scene_sizes();        // small, medium, large
const std::vector<std::string>& scene_positions();    // left, right, top, bottom, center
const std::vector<std::string>& scene_backgrounds();  // plain, gradient, striped, noisy

// Class names of a kind, in label order; shape_colour label = shape * colours + colour, named
// "<colour> <shape>".
std::vector<std::string> class_names(ClassKind kind);
// The class named as a noun phrase for prompts: "circle", "red shape", "red circle".
std::string class_phrase(ClassKind kind, int64_t label);
// Zero-shot prompt templates with one "{}" for the class phrase, and their instances for one class.
const std::vector<std::string>& prompt_templates();
std::vector<std::string> class_prompts(ClassKind kind, int64_t label);

struct SceneObject {
  int shape = 0, colour = 0, size = 0, position = 0;  // attribute ids
  // The drawn pixels' bounding box (x1, y1, x2, y2): pixel (x, y) is inside iff x1 <= x < x2 and
  // y1 <= y < y2, anti-aliased edge pixels included.
  std::array<float, 4> box{};
};

int64_t object_label(const SceneObject& object, ClassKind kind);

struct Scene {
  cv::Mat image;                     // uint8 HWC RGB
  std::vector<SceneObject> objects;  // in drawing order; they do not overlap (their discs are apart)
  int background = 0;
  std::vector<std::string> captions;  // captions[0] is the most descriptive
};

// The label of a scene: of its first object.
int64_t scene_label(const Scene& scene, ClassKind kind);

struct SceneWorldOptions {
  int64_t seed = 0;
  std::string split = "train";
  int64_t image_size = 64;
  int64_t max_objects = 1;
  double heldout_fraction = 0.2;
  int64_t heldout_seed = 0;
  std::vector<std::string> novel_shapes;

  template <class V>
  void visit(V& v) {
    v("seed", seed, {.help = "image seed (scenes differ by seed; the held-out pairs do not)", .min = 0});
    v("split", split,
      {.help = "train: seen (shape, colour) pairs of base shapes only; heldout: the other pairs; all: every pair",
       .choices = {"train", "heldout", "all"}});
    v("image_size", image_size, {.help = "image height and width", .min = 32, .max = 1024});
    v("max_objects", max_objects,
      {.help = "objects per scene: 1..max_objects, fewer where no room is left", .min = 1, .max = 5});
    v("heldout_fraction", heldout_fraction,
      {.help = "fraction of the base shapes' (shape, colour) pairs never shown in training", .min = 0.0, .max = 0.5});
    v("heldout_seed", heldout_seed,
      {.help = "seed of the choice of held-out pairs (keep it across train and eval)", .min = 0});
    v("novel_shapes", novel_shapes,
      {.help = "shapes kept out of the train split entirely (open-vocabulary detection)"});
  }
};

class SceneWorld {
 public:
  // `path` is the options' key in the config, for error messages. Throws UserError for an unknown
  // novel shape or a split left without any (shape, colour) pair.
  explicit SceneWorld(SceneWorldOptions options, const std::string& path = "world");

  // Scene `index` of the split (any index >= 0); a pure function of (options, index), thread-safe.
  Scene render(int64_t index) const;

  const SceneWorldOptions& options() const { return options_; }
  bool novel(int shape) const;                                                   // listed in novel_shapes
  bool heldout(int shape, int colour) const;                                     // a held-out pair of a base shape
  bool in_split(int shape, int colour) const;                                    // may appear in this world's split
  const std::vector<std::array<int, 2>>& split_pairs() const { return pairs_; }  // (shape, colour), sorted

 private:
  SceneWorldOptions options_;
  std::vector<bool> novel_, heldout_;  // by shape; by shape * colours + colour
  std::vector<std::array<int, 2>> pairs_;
};

}  // namespace loom::data
