#include "eval/model_inputs.h"

#include <map>
#include <mutex>

#include "core/config/config_error.h"
#include "core/text/cat.h"
#include "data/clip_tokenizer.h"
#include "data/open_clip_preprocess.h"
#include "data/sentencepiece_tokenizer.h"

namespace loom::eval {

std::shared_ptr<const data::TextTokenizer> make_text_tokenizer(const TokenizerOptions& options,
                                                               const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const data::TextTokenizer>> made;
  const std::string key = cat(options.name, '\n', options.path, '\n', options.clean);
  std::lock_guard lock(mutex);
  if (auto it = made.find(key); it != made.end()) return it->second;
  std::shared_ptr<const data::TextTokenizer> tokenizer;
  if (options.name == "clip") {
    if (options.clean != "lower")
      throw ConfigError(cat(path, ".clean: the clip tokenizer cleans text as open_clip's default 'lower' does; '",
                            options.clean, "' is not implemented for it"));
    if (options.path.empty())  // the process-wide one: not owned here
      tokenizer = std::shared_ptr<const data::TextTokenizer>(&data::ClipTokenizer::shared(), [](const auto*) {});
    else
      tokenizer = std::make_shared<data::ClipTokenizer>(options.path);
  } else if (options.name == "sentencepiece") {
    if (options.path.empty())
      throw ConfigError(cat(path,
                            ".path: the sentencepiece tokenizer needs the model file the weights were trained "
                            "with (SigLIP: the spiece.model of its tokenizer)"));
    try {
      tokenizer = std::make_shared<data::SentencePieceTokenizer>(options.path, data::parse_text_clean(options.clean));
    } catch (const UserError& e) {  // a missing or unreadable file, named at its key
      throw ConfigError(cat(path, ".path: ", e.what()));
    }
  } else {
    throw ConfigError(cat(path, ".name: unknown tokenizer '", options.name, "' (clip, sentencepiece)"));
  }
  made.emplace(key, tokenizer);
  return tokenizer;
}

ConfigNode preprocess_transforms(const ImageTextModel& model) {
  const ImagePreprocessOptions& p = model.preprocess();
  return data::open_clip_transforms(model.image_size(), p.mean, p.std, p.interpolation, p.resize_mode, p.fill_color);
}

}  // namespace loom::eval
