#include "data/image_io.h"

#include <optional>
#include <ostream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "core/io/file_system.h"
#include "core/limits.h"
#include "core/text/cat.h"
#include "data/dataset.h"
#include "data/image_header.h"

namespace loom::data {

cv::Mat read_image(const std::string& path) {
  std::string why;
  std::optional<std::string> bytes = read_file(path, &why);
  if (!bytes) throw BadSample(path, why);
  return decode_image(*bytes, path);
}

cv::Mat decode_image(const std::string& bytes, const std::string& name) {
  if (bytes.empty()) throw BadSample(name, "empty file");
  if (auto header = read_image_header(bytes)) {
    const int64_t most = limits().image_pixels;
    if (header->width > 0 && header->height > 0 && header->width > most / header->height)
      throw BadSample(name, cat("the ", header->format, " header declares ", header->width, " x ", header->height,
                                " pixels, more than the limit of ", most, " (", raise_limit_hint("IMAGE_PIXELS"), ")"));
    if (header->truncated) throw BadSample(name, "truncated JPEG (the data ends before the end-of-image marker)");
  }
  cv::Mat raw;
  try {
    // UNCHANGED rather than COLOR: keeps the decode close to PIL (no EXIF rotation) and lets us drop alpha.
    raw = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data())),
                       cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw BadSample(name, cat("cannot decode the image: ", e.what()));
  }
  if (raw.empty()) throw BadSample(name, "cannot decode the image (corrupt or unsupported format)");
  if (raw.depth() == CV_16U) raw.convertTo(raw, CV_8U, 1.0 / 257.0);
  if (raw.depth() != CV_8U) throw BadSample(name, "unsupported pixel depth (expected 8 or 16 bits)");
  cv::Mat rgb;
  switch (raw.channels()) {
    case 1:
      cv::cvtColor(raw, rgb, cv::COLOR_GRAY2RGB);
      break;
    case 3:
      cv::cvtColor(raw, rgb, cv::COLOR_BGR2RGB);
      break;
    case 4:
      cv::cvtColor(raw, rgb, cv::COLOR_BGRA2RGB);
      break;
    default:
      throw BadSample(name, cat("unsupported number of channels: ", raw.channels()));
  }
  return rgb;
}

at::Tensor to_tensor(const cv::Mat& rgb, const double* mean, const double* std) {
  CV_Assert(rgb.type() == CV_8UC3);
  at::Tensor out = at::empty({3, rgb.rows, rgb.cols}, at::kFloat);
  std::vector<cv::Mat> planes;
  cv::split(rgb, planes);
  for (int c = 0; c < 3; ++c) {
    // One pass per channel: x / 255, then (x - mean) / std folded into the same scale and offset.
    double scale = 1.0 / 255.0, offset = 0.0;
    if (mean && std) {
      scale /= std[c];
      offset = -mean[c] / std[c];
    }
    cv::Mat dst(rgb.rows, rgb.cols, CV_32F, out[c].data_ptr<float>());
    planes[c].convertTo(dst, CV_32F, scale, offset);
  }
  return out;
}

cv::Mat to_mat(const at::Tensor& chw) {
  at::Tensor t = chw.detach().to(at::kCPU);
  if (t.dim() != 3 || (t.size(0) != 1 && t.size(0) != 3))
    throw UserError(cat("expected an image tensor [3, H, W] or [1, H, W], got ", t.sizes()));
  if (t.scalar_type() != at::kByte) t = t.to(at::kFloat).clamp(0, 1).mul(255).round().to(at::kByte);
  if (t.size(0) == 1) t = t.expand({3, t.size(1), t.size(2)});
  t = t.permute({1, 2, 0}).contiguous();
  return cv::Mat(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_8UC3, t.data_ptr<uint8_t>()).clone();
}

void write_png(const std::string& path, const at::Tensor& chw_float01_or_uint8) {
  cv::Mat bgr;
  cv::cvtColor(to_mat(chw_float01_or_uint8), bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> bytes;
  if (!cv::imencode(".png", bgr, bytes)) throw UserError(cat("cannot encode PNG for ", path));
  write_durably(path, [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  });
}

}  // namespace loom::data
