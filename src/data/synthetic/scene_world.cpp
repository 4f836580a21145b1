#include "data/synthetic/scene_world.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "core/text/cat.h"
#include "core/text/join.h"
#include "data/random.h"
#include "data/synthetic/draw.h"

namespace loom::data {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Nominal RGB of each colour, in scene_colours() order; objects jitter around it.
constexpr std::array<std::array<int, 3>, 10> kColourRgb{{{220, 30, 30},
                                                         {245, 140, 20},
                                                         {240, 220, 30},
                                                         {40, 170, 50},
                                                         {30, 200, 220},
                                                         {30, 60, 220},
                                                         {140, 40, 190},
                                                         {245, 130, 190},
                                                         {245, 245, 245},
                                                         {15, 15, 15}}};
// Object radius as a fraction of the image size, by size id (jittered by +-10 %).
constexpr std::array<double, 3> kSizeRadius{0.09, 0.14, 0.2};
// Where an object's centre may fall, as fractions of the image (x0, x1, y0, y1), by position id.
constexpr std::array<std::array<double, 4>, 5> kRegion{
    {{0.12, 0.3, 0.3, 0.7}, {0.7, 0.88, 0.3, 0.7}, {0.3, 0.7, 0.12, 0.3}, {0.3, 0.7, 0.7, 0.88}, {0.4, 0.6, 0.4, 0.6}}};
const std::array<const char*, 5> kWhere{"on the left", "on the right", "at the top", "at the bottom", "in the center"};
const std::array<const char*, 4> kCount{"two", "three", "four", "five"};

void replace_all(std::string& text, const std::string& key, const std::string& value) {
  for (size_t at = 0; (at = text.find(key, at)) != std::string::npos; at += value.size())
    text.replace(at, key.size(), value);
}

// "a orange circle" -> "an orange circle": templates always write "a", the words decide.
std::string fix_articles(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    bool lone_a = text[i] == 'a' && (i == 0 || text[i - 1] == ' ') && i + 2 < text.size() && text[i + 1] == ' ';
    if (lone_a && std::string("aeiou").find(text[i + 2]) != std::string::npos) out += 'n';
  }
  return out;
}

// "a X", "a X and a Y", "a X, a Y and a Z".
std::string list_phrase(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i)
    out += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + std::string("a ") + items[i];
  return out;
}

// The shape, white on black in `mask`, inside the disc of radius r around (cx, cy) (placement keeps
// discs apart, so every shape's extent must stay within it).
void draw_mask(cv::Mat& mask, int shape, double cx, double cy, double r, double tilt) {
  const cv::Scalar on(255), off(0);
  const double up = -kPi / 2 + tilt;
  switch (shape) {
    case 0:
      draw_circle(mask, cx, cy, r, on);
      break;
    case 1:
      fill_polygons(mask, {rect_polygon(cx, cy, 1.4 * r, 1.4 * r, tilt)}, on);
      break;
    case 2:
      fill_polygons(mask, {star_polygon(cx, cy + 0.15 * r, 3, {0.92 * r}, up)}, on);
      break;
    case 3:
      fill_polygons(mask, {star_polygon(cx, cy, 10, {r, 0.45 * r}, up)}, on);
      break;
    case 4:  // two fills: one fillPoly call would leave the overlap empty (even-odd rule)
      fill_polygons(mask, {rect_polygon(cx, cy, 1.9 * r, 0.6 * r, tilt)}, on);
      fill_polygons(mask, {rect_polygon(cx, cy, 0.6 * r, 1.9 * r, tilt)}, on);
      break;
    case 5:
      draw_circle(mask, cx, cy, 0.8 * r, on, std::max(2, static_cast<int>(std::lround(0.4 * r))));
      break;
    case 6:
      fill_polygons(mask, {star_polygon(cx, cy, 4, {r, 0.62 * r}, up)}, on);
      break;
    case 7:
      fill_polygons(mask, {star_polygon(cx, cy, 6, {r}, tilt)}, on);
      break;
    case 8: {  // the classic parametric heart, 32 x 29 units, centred and scaled into the disc
      std::vector<cv::Point> heart;
      const double k = r / 17;
      for (int i = 0; i < 48; ++i) {
        double t = 2 * kPi * i / 48, x = 16 * std::pow(std::sin(t), 3),
               y = -(13 * std::cos(t) - 5 * std::cos(2 * t) - 2 * std::cos(3 * t) - std::cos(4 * t)) - 2.5;
        heart.push_back(subpixel(cx + k * (x * std::cos(tilt) - y * std::sin(tilt)),
                                 cy + k * (x * std::sin(tilt) + y * std::cos(tilt))));
      }
      fill_polygons(mask, {heart}, on);
      break;
    }
    case 9: {                     // a disc with an offset disc cut out
      const double a = tilt * 8;  // the opening faces most directions (+-2.4 rad): it is not part of the class
      draw_circle(mask, cx, cy, r, on);
      draw_circle(mask, cx + 0.45 * r * std::cos(a), cy + 0.45 * r * std::sin(a), 0.8 * r, off);
      break;
    }
    default:
      throw std::invalid_argument(cat("scene world: no shape ", shape));
  }
}

// A muted base colour (grey with a tint) that every named colour, black and white included, stands out
// from.
cv::Vec3d base_tone(std::mt19937_64& rng, double lo = 80, double hi = 170) {
  double g = uniform(rng, lo, hi);
  return {g + uniform(rng, -14, 14), g + uniform(rng, -14, 14), g + uniform(rng, -14, 14)};
}

cv::Mat draw_background(int kind, int size, std::mt19937_64& rng) {
  const cv::Vec3d a = base_tone(rng);
  cv::Mat img(size, size, CV_8UC3, cv::Scalar(a[0], a[1], a[2]));
  if (kind == 0) return img;  // plain: exactly one colour
  const cv::Vec3d b = base_tone(rng);
  const double angle = uniform(rng, 0, 2 * kPi), dx = std::cos(angle), dy = std::sin(angle);
  const double period = size * uniform(rng, 0.1, 0.2);
  const double s = size;
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      cv::Vec3d c;
      const double along = (x - s / 2) * dx + (y - s / 2) * dy;
      if (kind == 1) {  // gradient from a to b across the image
        double t = std::clamp(0.5 + along / s, 0.0, 1.0);
        c = a * (1 - t) + b * t;
      } else if (kind == 2) {  // stripes of a and a darker or lighter a
        bool dark = static_cast<int64_t>(std::floor(along / (period / 2))) % 2 != 0;
        c = dark ? a * 0.7 : a;
      } else {  // noise: grain in brightness around a
        double n = static_cast<double>(uniform_int(rng, -30, 30));
        c = a + cv::Vec3d(n, n, n);
      }
      img.at<cv::Vec3b>(y, x) =
          cv::Vec3b(cv::saturate_cast<uchar>(c[0]), cv::saturate_cast<uchar>(c[1]), cv::saturate_cast<uchar>(c[2]));
    }
  return img;
}

// Blends `colour` into `img` through the coverage `mask` (0..255).
void composite(cv::Mat& img, const cv::Mat& mask, const cv::Vec3d& colour) {
  for (int y = 0; y < img.rows; ++y)
    for (int x = 0; x < img.cols; ++x) {
      double m = mask.at<uchar>(y, x) / 255.0;
      if (m == 0) continue;
      auto& px = img.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) px[c] = cv::saturate_cast<uchar>(px[c] * (1 - m) + colour[c] * m);
    }
}

struct Words {
  std::string size, colour, shape, where;
};

Words words(const SceneObject& o) {
  return {scene_sizes()[o.size], scene_colours()[o.colour], scene_shapes()[o.shape], kWhere[o.position]};
}

std::string fill_words(std::string text, const Words& w, const std::string& background) {
  replace_all(text, "{size}", w.size);
  replace_all(text, "{colour}", w.colour);
  replace_all(text, "{shape}", w.shape);
  replace_all(text, "{where}", w.where);
  replace_all(text, "{background}", background);
  return fix_articles(text);
}

std::vector<std::string> captions(const std::vector<SceneObject>& objects, int background) {
  const std::string bg = scene_backgrounds()[background];
  if (objects.size() == 1) {
    static const std::vector<std::string> templates = {
        "a {size} {colour} {shape} {where} on a {background} background",
        "a photo of a {size} {colour} {shape}",
        "a {colour} {shape} on a {background} background",
        "there is a {shape} {where}",
        "a {colour} {shape}",
        "a {size} {shape} colored {colour}",
        "an image of a {colour} {shape} {where}",
        "a {shape} that is {colour}",
        "a drawing of a {size} {colour} {shape}",
        "a {background} background with a {colour} {shape} {where}",
        "{colour} {shape}, {size}, {where}",
        "a {size} {colour} {shape}",
    };
    std::vector<std::string> out;
    for (const auto& t : templates) out.push_back(fill_words(t, words(objects[0]), bg));
    return out;
  }
  // Several objects: the same sentence shapes over lists of per-object phrases.
  auto list = [&](const std::string& item) {
    std::vector<std::string> items;
    for (const auto& o : objects) items.push_back(fill_words(item, words(o), bg));
    return list_phrase(items);
  };
  const std::string full = list("{size} {colour} {shape} {where}"), plain = list("{colour} {shape}");
  return {fix_articles(cat(full, " on a ", bg, " background")),
          fix_articles(plain),
          fix_articles(cat("a photo of ", plain)),
          fix_articles(cat(kCount[objects.size() - 2], " shapes: ", plain)),
          fix_articles(list("{size} {colour} {shape}")),
          fix_articles(cat(plain, " on a ", bg, " background")),
          fix_articles(cat("a ", bg, " background with ", list("{colour} {shape} {where}")))};
}

}  // namespace

ClassKind class_kind(const std::string& name) {
  if (name == "shape") return ClassKind::shape;
  if (name == "colour") return ClassKind::colour;
  if (name == "shape_colour") return ClassKind::shape_colour;
  throw std::invalid_argument(cat("no class kind '", name, "' (shape, colour, shape_colour)"));
}

const std::vector<std::string>& scene_shapes() {
  static const std::vector<std::string> names = {"circle", "square",  "triangle", "star",  "cross",
                                                 "ring",   "diamond", "hexagon",  "heart", "crescent"};
  return names;
}

const std::vector<std::string>& scene_colours() {
  static const std::vector<std::string> names = {"red",  "orange", "yellow", "green", "cyan",
                                                 "blue", "purple", "pink",   "white", "black"};
  return names;
}

const std::vector<std::string>& scene_sizes() {
  static const std::vector<std::string> names = {"small", "medium", "large"};
  return names;
}

const std::vector<std::string>& scene_positions() {
  static const std::vector<std::string> names = {"left", "right", "top", "bottom", "center"};
  return names;
}

const std::vector<std::string>& scene_backgrounds() {
  static const std::vector<std::string> names = {"plain", "gradient", "striped", "noisy"};
  return names;
}

std::vector<std::string> class_names(ClassKind kind) {
  if (kind == ClassKind::shape) return scene_shapes();
  if (kind == ClassKind::colour) return scene_colours();
  std::vector<std::string> out;
  for (const auto& shape : scene_shapes())
    for (const auto& colour : scene_colours()) out.push_back(colour + " " + shape);
  return out;
}

std::string class_phrase(ClassKind kind, int64_t label) {
  std::string name = class_names(kind).at(static_cast<size_t>(label));
  return kind == ClassKind::colour ? name + " shape" : name;
}

const std::vector<std::string>& prompt_templates() {
  static const std::vector<std::string> templates = {"a photo of a {}.", "a drawing of a {}.", "an image of a {}.",
                                                     "there is a {} in the picture.", "a {} on a background."};
  return templates;
}

std::vector<std::string> class_prompts(ClassKind kind, int64_t label) {
  std::vector<std::string> out;
  for (std::string t : prompt_templates()) {
    replace_all(t, "{}", class_phrase(kind, label));
    out.push_back(fix_articles(t));
  }
  return out;
}

int64_t object_label(const SceneObject& object, ClassKind kind) {
  if (kind == ClassKind::shape) return object.shape;
  if (kind == ClassKind::colour) return object.colour;
  return static_cast<int64_t>(object.shape) * static_cast<int64_t>(scene_colours().size()) + object.colour;
}

int64_t scene_label(const Scene& scene, ClassKind kind) { return object_label(scene.objects.at(0), kind); }

SceneWorld::SceneWorld(SceneWorldOptions options, const std::string& path) : options_(std::move(options)) {
  const auto& shapes = scene_shapes();
  const int ns = static_cast<int>(shapes.size()), nc = static_cast<int>(scene_colours().size());
  if (options_.split != "train" && options_.split != "heldout" && options_.split != "all")
    throw UserError(cat(path, ".split: '", options_.split, "' is not one of train, heldout, all"));
  novel_.assign(static_cast<size_t>(ns), false);
  for (const auto& name : options_.novel_shapes) {
    auto it = std::find(shapes.begin(), shapes.end(), name);
    if (it == shapes.end())
      throw UserError(cat(path, ".novel_shapes: no shape '", name, "' (shapes: ", join(shapes, ", "), ")"));
    novel_[static_cast<size_t>(it - shapes.begin())] = true;
  }

  // Hold out a seeded random subset of the base shapes' pairs, skipping a pair when it would leave its
  // shape or its colour without a seen pair (each must stay learnable from the train split).
  std::vector<std::array<int, 2>> base;
  std::vector<int> seen_shape(static_cast<size_t>(ns), 0), seen_colour(static_cast<size_t>(nc), 0);
  for (int s = 0; s < ns; ++s)
    for (int c = 0; c < nc; ++c)
      if (!novel_[static_cast<size_t>(s)]) {
        base.push_back({s, c});
        ++seen_shape[static_cast<size_t>(s)];
        ++seen_colour[static_cast<size_t>(c)];
      }
  std::mt19937_64 rng(mix_seed({static_cast<uint64_t>(options_.heldout_seed), 0x68656c64}));
  for (size_t i = base.size(); i > 1; --i)
    std::swap(base[i - 1], base[static_cast<size_t>(uniform_int(rng, 0, static_cast<int64_t>(i) - 1))]);
  const auto wanted = static_cast<int64_t>(std::lround(options_.heldout_fraction * static_cast<double>(base.size())));
  heldout_.assign(static_cast<size_t>(ns * nc), false);
  int64_t held = 0;
  for (auto [s, c] : base) {
    if (held == wanted) break;
    if (seen_shape[static_cast<size_t>(s)] < 2 || seen_colour[static_cast<size_t>(c)] < 2) continue;
    heldout_[static_cast<size_t>(s * nc + c)] = true;
    --seen_shape[static_cast<size_t>(s)];
    --seen_colour[static_cast<size_t>(c)];
    ++held;
  }

  for (int s = 0; s < ns; ++s)
    for (int c = 0; c < nc; ++c)
      if (in_split(s, c)) pairs_.push_back({s, c});
  if (pairs_.empty())
    throw UserError(
        options_.split == "train"
            ? cat(path, ".novel_shapes: every shape is novel, so the train split has no scenes")
            : cat(path,
                  ".heldout_fraction: no pair is held out and no shape is novel, so the heldout split has no scenes"));
}

bool SceneWorld::novel(int shape) const { return novel_.at(static_cast<size_t>(shape)); }

bool SceneWorld::heldout(int shape, int colour) const {
  return heldout_.at(static_cast<size_t>(shape) * scene_colours().size() + static_cast<size_t>(colour));
}

bool SceneWorld::in_split(int shape, int colour) const {
  const bool seen = !novel(shape) && !heldout(shape, colour);
  return options_.split == "all" || (options_.split == "train") == seen;
}

Scene SceneWorld::render(int64_t index) const {
  const uint64_t split_id = options_.split == "train" ? 0 : options_.split == "heldout" ? 1 : 2;
  std::mt19937_64 rng(mix_seed({static_cast<uint64_t>(options_.seed), split_id, static_cast<uint64_t>(index)}));
  const int size = static_cast<int>(options_.image_size);
  const double s = size;

  Scene scene;
  scene.background = static_cast<int>(uniform_int(rng, 0, static_cast<int64_t>(scene_backgrounds().size()) - 1));
  scene.image = draw_background(scene.background, size, rng);
  const int64_t count = uniform_int(rng, 1, options_.max_objects);
  std::vector<std::array<double, 3>> discs;  // (cx, cy, r) of the objects placed so far
  cv::Mat mask(size, size, CV_8UC1);
  for (int64_t i = 0; i < count; ++i) {
    SceneObject o;
    auto [shape, colour] = pairs_[static_cast<size_t>(uniform_int(rng, 0, static_cast<int64_t>(pairs_.size()) - 1))];
    o.shape = shape;
    o.colour = colour;
    o.size = static_cast<int>(uniform_int(rng, 0, 2));
    // Rejection sampling of a region and a centre whose disc is clear of the earlier objects' discs; an
    // object that finds no room in 32 tries is left out, so objects never hide each other (a crowded
    // scene has fewer objects than drawn; the first always fits).
    double r = s * kSizeRadius[static_cast<size_t>(o.size)] * uniform(rng, 0.9, 1.1), cx = 0, cy = 0;
    bool clear = false;
    for (int attempt = 0; attempt < 32 && !clear; ++attempt) {
      o.position = static_cast<int>(uniform_int(rng, 0, 4));
      const auto& reg = kRegion[static_cast<size_t>(o.position)];
      cx = std::clamp(s * uniform(rng, reg[0], reg[1]), r + 1, s - r - 1);
      cy = std::clamp(s * uniform(rng, reg[2], reg[3]), r + 1, s - r - 1);
      clear = std::all_of(discs.begin(), discs.end(),
                          [&](const auto& d) { return std::hypot(cx - d[0], cy - d[1]) >= r + d[2]; });
    }
    if (!clear) continue;
    discs.push_back({cx, cy, r});
    mask.setTo(0);
    draw_mask(mask, o.shape, cx, cy, r, uniform(rng, -0.3, 0.3));
    const auto& rgb = kColourRgb[static_cast<size_t>(o.colour)];
    cv::Vec3d jittered;
    for (int c = 0; c < 3; ++c)
      jittered[c] = std::clamp(rgb[static_cast<size_t>(c)] + uniform(rng, -12, 12), 0.0, 255.0);
    composite(scene.image, mask, jittered);
    cv::Rect box = cv::boundingRect(mask);
    o.box = {static_cast<float>(box.x), static_cast<float>(box.y), static_cast<float>(box.x + box.width),
             static_cast<float>(box.y + box.height)};
    scene.objects.push_back(o);
  }
  scene.captions = captions(scene.objects, scene.background);
  return scene;
}

}  // namespace loom::data
