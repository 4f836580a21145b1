#include "nn/conv2d_resample.h"

#include <ATen/ops/conv2d.h>
#include <ATen/ops/conv_transpose2d.h>

#include "core/text/cat.h"
#include "nn/upfirdn2d.h"

namespace loom::nn {

at::Tensor conv2d_resample(const at::Tensor& x, const at::Tensor& w, const at::Tensor& f, int64_t up, int64_t down,
                           int64_t padding) {
  if ((up != 1 && up != 2) || (down != 1 && down != 2) || (up == 2 && down == 2))
    throw std::invalid_argument(cat("conv2d_resample: unsupported up=", up, " down=", down));
  const int64_t k = w.size(-1), fw = f.size(-1);
  if (up == 2 && k == 1) throw std::invalid_argument("conv2d_resample: 1x1 convolutions do not upsample");
  if (down == 2) {
    // Padding of the FIR step so that the stride-2 conv (or 1x1) lands on H/2 outputs.
    const int64_t p0 = padding + (fw - down + 1) / 2, p1 = padding + (fw - down) / 2;
    if (k == 1) return at::conv2d(upfirdn2d(x, f, 1, down, {p0, p1, p0, p1}), w);
    return at::conv2d(upfirdn2d(x, f, 1, 1, {p0, p1, p0, p1}), w, {}, {down, down});
  }
  if (up == 2) {
    at::Tensor y = at::conv_transpose2d(x, w.transpose(0, 1), {}, {up, up});
    return upfirdn2d(y, f, 1, 1, conv2d_resample_up_padding(k, fw, up, padding), static_cast<double>(up * up));
  }
  return at::conv2d(x, w, {}, {1, 1}, {padding, padding});
}

FirPadding conv2d_resample_up_padding(int64_t kernel, int64_t filter, int64_t up, int64_t padding) {
  // NVlabs pads by (fw+1)/2 and fw/2 - 1 around the upsampled signal, minus what the transposed conv
  // already covers (k - 1 before, k - up after).
  const int64_t p0 = padding + (filter + up - 1) / 2 - (kernel - 1), p1 = padding + (filter - up) / 2 - (kernel - up);
  return {p0, p1, p0, p1};
}

}  // namespace loom::nn
