#pragma once
// Generated data written once: a folder built in a temporary sibling, stamped, and renamed into place,
// so an interrupted or concurrent run never leaves a half-written folder behind and a second run with
// the same spec reuses it.
#include <filesystem>
#include <functional>
#include <string>

namespace cv {
class Mat;
}

namespace loom::data {

// Whether `dir` holds a complete folder whose stamp (the file `done`) reads exactly `stamp`.
bool generated_folder_ready(const std::string& dir, const std::string& stamp);

// Writes an 8-bit BGR image as a PNG file (into a generated folder's temporary); UserError naming the
// file when it cannot be written (disk full), which cv::imwrite does not always report.
void write_generated_png(const std::filesystem::path& path, const cv::Mat& bgr);

// Makes `dir` a complete folder for `stamp`: nothing to do when it already is; otherwise `write` fills
// an empty temporary folder, which then replaces `dir` (an older version is moved aside and deleted).
// Throws UserError when the folder cannot be put in place.
void generate_folder(const std::string& dir, const std::string& stamp,
                     const std::function<void(const std::filesystem::path& tmp)>& write);

}  // namespace loom::data
