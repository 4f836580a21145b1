// Captions per second through loom::data::ClipTokenizer::tokenize (context 77): a cold pass (empty BPE
// cache), a warm pass, and 2 threads warm. Writes its 20,000 seeded captions (one per line) to
// /tmp/loom-bench-tokenizer/captions.txt so open_clip can be timed on the same text:
//   $LOOM_PYTHON -c "import time, open_clip as oc; t =
//   open('/tmp/loom-bench-tokenizer/captions.txt').read().split('\n') for p in ('cold', 'warm'): s =
//   time.perf_counter(); oc.tokenize(t); print(p, round(len(t) / (time.perf_counter() - s)), 'captions/s')"
// (the command is printed at the end too). Prints; never asserts.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "data/clip_tokenizer.h"

namespace {

using loom::data::ClipTokenizer;

// Caption-like text: templates around common words, with one word in five made up from syllables so the
// cold pass meets words no cache has seen, plus some digits, punctuation and accented words.
std::vector<std::string> make_captions(int count) {
  const std::vector<std::string> words = {
      "cat",     "dog",     "photo",   "man",     "woman",   "child",  "red",      "blue",       "green",
      "small",   "large",   "old",     "young",   "street",  "city",   "beach",    "mountain",   "river",
      "forest",  "table",   "kitchen", "car",     "bicycle", "train",  "standing", "sitting",    "running",
      "holding", "looking", "wearing", "playing", "eating",  "next",   "near",     "front",      "white",
      "black",   "wooden",  "sunny",   "cloudy",  "night",   "snow",   "grass",    "field",      "building",
      "window",  "door",    "flowers", "pizza",   "plate",   "coffee", "laptop",   "phone",      "umbrella",
      "horse",   "bird",    "café",    "crème",   "über",    "naïve",  "señor",    "smørrebrød", "Zürich",
      "São",     "Paulo"};
  const std::vector<std::string> templates = {"a photo of a {} and a {}.", "A {} {} in the {}, {} people",
                                              "{} {}: close-up of the {} ({} {})", "two {} next to {} {} {}!"};
  const std::vector<std::string> syllables = {"ka",  "lo",  "mi",  "zu",  "ter", "an",
                                              "vex", "qui", "dro", "pha", "st",  "el"};
  std::mt19937 rng(7);
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    std::string text, tmpl = pick(templates);
    for (size_t k = 0; k < tmpl.size(); ++k) {
      if (tmpl.compare(k, 2, "{}") != 0) {
        text += tmpl[k];
        continue;
      }
      ++k;
      if (rng() % 5 == 0) {
        for (int s = 0, n = 2 + static_cast<int>(rng() % 3); s < n; ++s) text += pick(syllables);
      } else if (rng() % 10 == 0) {
        text += std::to_string(rng() % 2025);
      } else {
        text += pick(words);
      }
    }
    out.push_back(text);
  }
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main() {
  const std::vector<std::string> captions = make_captions(20000);
  const std::filesystem::path dir = "/tmp/loom-bench-tokenizer";
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir / "captions.txt", std::ios::binary);
    for (size_t i = 0; i < captions.size(); ++i) out << (i ? "\n" : "") << captions[i];
  }
  auto start = std::chrono::steady_clock::now();
  const ClipTokenizer& tok = ClipTokenizer::shared();
  std::printf("bench_tokenizer: vocabulary loaded in %.0f ms; %zu captions (%s)\n", seconds_since(start) * 1e3,
              captions.size(), (dir / "captions.txt").c_str());

  for (const char* pass : {"cold", "warm"}) {
    start = std::chrono::steady_clock::now();
    at::Tensor t = tok.tokenize(captions);
    const double s = seconds_since(start);
    std::printf("  1 thread, %s cache: %8.0f captions/s (%.1f tokens per caption, start and end included)\n", pass,
                captions.size() / s, (t != 0).sum().item<double>() / static_cast<double>(captions.size()));
  }
  const auto middle = captions.begin() + static_cast<std::ptrdiff_t>(captions.size() / 2);
  const std::vector<std::vector<std::string>> halves = {{captions.begin(), middle}, {middle, captions.end()}};
  start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (const auto& half : halves) threads.emplace_back([&tok, &half] { tok.tokenize(half); });
  for (auto& t : threads) t.join();
  std::printf("  2 threads, warm cache: %7.0f captions/s\n", captions.size() / seconds_since(start));
  std::printf(
      "open_clip on the same captions:\n  $LOOM_PYTHON -c \"import time, open_clip as oc; t = "
      "open('%s').read().split('\\n')\n"
      "for p in ('cold', 'warm'): s = time.perf_counter(); oc.tokenize(t); print(p, round(len(t) / "
      "(time.perf_counter() - s)), 'captions/s')\"\n",
      (dir / "captions.txt").c_str());
}
