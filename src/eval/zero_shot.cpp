#include "eval/zero_shot.h"

#include <ATen/ops/stack.h>

#include "core/error.h"
#include "core/text/cat.h"

namespace loom::eval {

std::string fill_template(const std::string& text_template, const std::string& class_name) {
  auto at = text_template.find("{}");
  if (at == std::string::npos)
    throw UserError(cat("zero-shot template '", text_template, "' has no '{}' for the class name"));
  return text_template.substr(0, at) + class_name + text_template.substr(at + 2);
}

at::Tensor zero_shot_classifier(const TextEncoder& encode, const std::vector<std::string>& classes,
                                const std::vector<std::string>& templates) {
  if (classes.empty() || templates.empty()) throw UserError("zero-shot evaluation needs class names and templates");
  std::vector<at::Tensor> rows;
  for (const auto& name : classes) {
    std::vector<std::string> prompts;
    for (const auto& t : templates) prompts.push_back(fill_template(t, name));
    at::Tensor mean = encode(prompts).mean(0);
    rows.push_back(mean / mean.norm());
  }
  return at::stack(rows);
}

}  // namespace loom::eval
