#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "eval/retrieval.h"
#include "eval/zero_shot.h"

using namespace loom;

namespace {
double value(const Scalars& s, const std::string& name) { return scalar_value(s, name); }
}  // namespace

TEST_CASE("retrieval recall@K from hand-made embeddings", "[eval]") {
  // Texts 0 and 1 are exact matches; image 2's text is the third most similar of three.
  auto img = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}, {0.6f, 0.8f}});
  auto txt = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}, {-1.0f, 0.0f}});
  Scalars r = eval::retrieval_recall(img, txt, {1, 2, 3}, "val");
  // image 2 vs texts: 0.6, 0.8, -0.6 -> its match ranks third.
  CHECK(value(r, "val/image_to_text_R@1") == Approx(2.0 / 3));
  CHECK(value(r, "val/image_to_text_R@2") == Approx(2.0 / 3));
  CHECK(value(r, "val/image_to_text_R@3") == Approx(1.0));
  // text 2 vs images: -1, 0, -0.6 -> its match (-0.6) ranks second.
  CHECK(value(r, "val/text_to_image_R@1") == Approx(2.0 / 3));
  CHECK(value(r, "val/text_to_image_R@2") == Approx(1.0));
  // Constant embeddings tie everywhere: no credit.
  Scalars tied = eval::retrieval_recall(torch::ones({4, 2}), torch::ones({4, 2}), {1}, "t");
  CHECK(value(tied, "t/image_to_text_R@1") == 0.0);
}

TEST_CASE("top-K accuracy", "[eval]") {
  auto logits = torch::tensor({{0.1f, 0.9f, 0.0f}, {0.8f, 0.1f, 0.1f}, {0.3f, 0.2f, 0.5f}});
  auto labels = torch::tensor({1, 1, 0});
  Scalars a = eval::topk_accuracy(logits, labels, {1, 2, 5}, "zs");
  CHECK(value(a, "zs/top1") == Approx(1.0 / 3));
  CHECK(value(a, "zs/top2") == Approx(2.0 / 3));
  CHECK(value(a, "zs/top5") == Approx(1.0));
}

TEST_CASE("zero-shot class embeddings average the prompts", "[eval]") {
  CHECK(eval::fill_template("a photo of a {}.", "red circle") == "a photo of a red circle.");
  CHECK_THROWS_WITH(eval::fill_template("a photo", "x"), Catch::Contains("has no '{}'"));
  // A fake encoder: texts mentioning "cat" point along x, others along y; template "blurry" adds z.
  eval::TextEncoder encode = [](const std::vector<std::string>& texts) {
    std::vector<at::Tensor> rows;
    for (const auto& t : texts) {
      auto v = torch::tensor({t.find("cat") != std::string::npos ? 1.0f : 0.0f,
                              t.find("cat") != std::string::npos ? 0.0f : 1.0f,
                              t.find("blurry") != std::string::npos ? 1.0f : 0.0f});
      rows.push_back(v / v.norm());
    }
    return torch::stack(rows);
  };
  auto w = eval::zero_shot_classifier(encode, {"cat", "dog"}, {"a {}", "a blurry {}"});
  REQUIRE(w.sizes() == at::IntArrayRef{2, 3});
  // cat: mean of (1,0,0) and (1,0,1)/sqrt2, renormalised.
  auto expected = torch::tensor({1.0f + 1.0f / std::sqrt(2.0f), 0.0f, 1.0f / std::sqrt(2.0f)});
  CHECK(torch::allclose(w[0], expected / expected.norm(), 1e-6));
  CHECK(w[1].norm().item<float>() == Approx(1.0f));
}
