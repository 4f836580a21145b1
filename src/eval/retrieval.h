#pragma once
// Image–text retrieval recall@K and top-K classification accuracy from embeddings and logits.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/metrics/metrics_writer.h"

namespace loom::eval {

// Row i of `image_embeddings` [N, D] matches row i of `text_embeddings` [N, D] (both L2-normalised).
// Returns "<prefix>/image_to_text_R@K" and "<prefix>/text_to_image_R@K" for each K: the fraction of
// queries whose match ranks among the K most similar. Ties count against the query (a match must be
// strictly more similar than all but K-1 others), so constant embeddings score 0, not 1.
Scalars retrieval_recall(const at::Tensor& image_embeddings, const at::Tensor& text_embeddings,
                         const std::vector<int64_t>& ks, const std::string& prefix);

// Fraction of rows of `logits` [N, C] whose label [N] is among the K largest, for each K (K > C counts
// as C), ties counted against the label; named "<prefix>/top<K>".
Scalars topk_accuracy(const at::Tensor& logits, const at::Tensor& labels, const std::vector<int64_t>& ks,
                      const std::string& prefix);

}  // namespace loom::eval
