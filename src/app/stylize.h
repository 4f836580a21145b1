#pragma once
// `loom stylize CONFIG ckpt=RUN input=PHOTO|FOLDER out=DIR [key=value ...]`: photographs through a
// fine-tuned stylizer. CONFIG is the fewshot run's config (its recipe names the student and the
// encoder), ckpt= the fewshot run, checkpoint or exported generator weights.
//   align=ffhq|mediapipe|none (default ffhq)  faces=largest|all (default largest)
//   batch=8 device=auto min_score=0 grid=16
// Each face: aligned crop -> encoder -> + w_avg -> fine-tuned student -> OUT/<name>.png (faces=all:
// <name>_face<k>.png), and OUT/before_after.png pairs the first `grid` crops with their outputs. A
// folder is processed in batches with a progress line; unreadable images and images without a face
// are skipped, counted, printed and listed in OUT/skipped.txt.
#include <string>
#include <vector>

namespace loom::cli {

int stylize(const std::string& config_path, const std::vector<std::string>& arguments);

}  // namespace loom::cli
