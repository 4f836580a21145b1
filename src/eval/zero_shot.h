#pragma once
// Zero-shot classification with a contrastive image–text model: each class is the average of its
// prompt embeddings ("a photo of a {}." for every template), renormalised; an image is classified by
// cosine similarity to those class embeddings.
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace loom::eval {

// Texts -> L2-normalised embeddings [N, D].
using TextEncoder = std::function<at::Tensor(const std::vector<std::string>& texts)>;

// "{}" in a template is replaced by the class name (a template without "{}" is an error).
std::string fill_template(const std::string& text_template, const std::string& class_name);

// Class embeddings [C, D], L2-normalised.
at::Tensor zero_shot_classifier(const TextEncoder& encode, const std::vector<std::string>& classes,
                                const std::vector<std::string>& templates);

}  // namespace loom::eval
