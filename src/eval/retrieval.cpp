#include "eval/retrieval.h"

#include <algorithm>

#include <ATen/ops/arange.h>
#include <ATen/ops/matmul.h>

#include "core/text/cat.h"

namespace loom::eval {
namespace {

// For each row of `similarity`, how many entries are at least as large as the diagonal one, minus
// itself: the 0-based rank of the true match, with ties ranked pessimistically.
at::Tensor match_ranks(const at::Tensor& similarity) {
  at::Tensor diagonal = similarity.diagonal().unsqueeze(1);
  return similarity.ge(diagonal).sum(1) - 1;
}

}  // namespace

Scalars retrieval_recall(const at::Tensor& image_embeddings, const at::Tensor& text_embeddings,
                         const std::vector<int64_t>& ks, const std::string& prefix) {
  at::Tensor similarity = at::matmul(image_embeddings.to(at::kFloat), text_embeddings.to(at::kFloat).t());
  at::Tensor image_to_text = match_ranks(similarity), text_to_image = match_ranks(similarity.t());
  Scalars out;
  for (int64_t k : ks) {
    out.emplace_back(cat(prefix, "/image_to_text_R@", k), image_to_text.lt(k).to(at::kDouble).mean().item<double>());
    out.emplace_back(cat(prefix, "/text_to_image_R@", k), text_to_image.lt(k).to(at::kDouble).mean().item<double>());
  }
  return out;
}

Scalars topk_accuracy(const at::Tensor& logits, const at::Tensor& labels, const std::vector<int64_t>& ks,
                      const std::string& prefix) {
  // Rank of the true class, ties counted against it as in retrieval_recall.
  at::Tensor true_score = logits.gather(1, labels.unsqueeze(1));
  at::Tensor rank = logits.ge(true_score).sum(1) - 1;
  Scalars out;
  for (int64_t k : ks) out.emplace_back(cat(prefix, "/top", k), rank.lt(k).to(at::kDouble).mean().item<double>());
  return out;
}

}  // namespace loom::eval
