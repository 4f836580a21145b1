#include "eval/metrics/inception_v3.h"

#include <ATen/ops/avg_pool2d.h>
#include <ATen/ops/batch_norm.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/max_pool2d.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/relu.h>
#include <ATen/ops/upsample_bilinear2d.h>
#include <ATen/ops/zeros.h>

#include "core/error.h"
#include "core/io/weights.h"

namespace loom::eval {

BasicConv2dImpl::BasicConv2dImpl(int64_t in, int64_t out, std::array<int64_t, 2> kernel, int64_t stride,
                                 std::array<int64_t, 2> padding)
    : stride_(stride), padding_(padding) {
  // Registered through child modules so the names are "conv.weight" and "bn.*" as in torchvision.
  auto conv = register_module("conv", std::make_shared<torch::nn::Module>());
  weight_ = conv->register_parameter("weight", at::empty({out, in, kernel[0], kernel[1]}).normal_(0.0, 0.1));
  auto bn = register_module("bn", std::make_shared<torch::nn::Module>());
  bn_weight_ = bn->register_parameter("weight", at::ones({out}));
  bn_bias_ = bn->register_parameter("bias", at::zeros({out}));
  bn_mean_ = bn->register_buffer("running_mean", at::zeros({out}));
  bn_var_ = bn->register_buffer("running_var", at::ones({out}));
}

at::Tensor BasicConv2dImpl::forward(const at::Tensor& x) {
  at::Tensor y = at::conv2d(x, weight_, {}, {stride_, stride_}, {padding_[0], padding_[1]});
  y = at::batch_norm(y, bn_weight_, bn_bias_, bn_mean_, bn_var_, /*training=*/false, 0.0, /*eps=*/1e-3, true);
  at::relu_(y);
  return y;
}

namespace {

using Block = InceptionV3Impl::Block;

// TensorFlow's average pool leaves the zero padding out of the average (the FID patch of pytorch-fid).
at::Tensor tf_avg_pool(const at::Tensor& x) { return at::avg_pool2d(x, {3, 3}, {1, 1}, {1, 1}, false, false); }

// Every branch conv is a named child; `conv` registers one.
struct BlockBase : Block {
  BasicConv2d conv(const char* name, int64_t in, int64_t out, std::array<int64_t, 2> k, int64_t stride = 1,
                   std::array<int64_t, 2> pad = {0, 0}) {
    return register_module(name, BasicConv2d(in, out, k, stride, pad));
  }
};

constexpr std::array<int64_t, 2> k1{1, 1}, k3{3, 3}, k5{5, 5}, k1x7{1, 7}, k7x1{7, 1}, k1x3{1, 3}, k3x1{3, 1};
constexpr std::array<int64_t, 2> p1{1, 1}, p2{2, 2}, p1x7{0, 3}, p7x1{3, 0}, p1x3{0, 1}, p3x1{1, 0};

struct FidInceptionA : BlockBase {
  BasicConv2d b1, b5_1, b5_2, d1, d2, d3, pool;
  FidInceptionA(int64_t in, int64_t pool_features)
      : b1(conv("branch1x1", in, 64, k1)),
        b5_1(conv("branch5x5_1", in, 48, k1)),
        b5_2(conv("branch5x5_2", 48, 64, k5, 1, p2)),
        d1(conv("branch3x3dbl_1", in, 64, k1)),
        d2(conv("branch3x3dbl_2", 64, 96, k3, 1, p1)),
        d3(conv("branch3x3dbl_3", 96, 96, k3, 1, p1)),
        pool(conv("branch_pool", in, pool_features, k1)) {}
  at::Tensor forward(const at::Tensor& x) override {
    return at::cat({b1(x), b5_2(b5_1(x)), d3(d2(d1(x))), pool(tf_avg_pool(x))}, 1);
  }
};

struct InceptionB : BlockBase {  // Mixed_6a: unpatched
  BasicConv2d b3, d1, d2, d3;
  explicit InceptionB(int64_t in)
      : b3(conv("branch3x3", in, 384, k3, 2)),
        d1(conv("branch3x3dbl_1", in, 64, k1)),
        d2(conv("branch3x3dbl_2", 64, 96, k3, 1, p1)),
        d3(conv("branch3x3dbl_3", 96, 96, k3, 2)) {}
  at::Tensor forward(const at::Tensor& x) override {
    return at::cat({b3(x), d3(d2(d1(x))), at::max_pool2d(x, {3, 3}, {2, 2})}, 1);
  }
};

struct FidInceptionC : BlockBase {
  BasicConv2d b1, s1, s2, s3, d1, d2, d3, d4, d5, pool;
  FidInceptionC(int64_t in, int64_t c7)
      : b1(conv("branch1x1", in, 192, k1)),
        s1(conv("branch7x7_1", in, c7, k1)),
        s2(conv("branch7x7_2", c7, c7, k1x7, 1, p1x7)),
        s3(conv("branch7x7_3", c7, 192, k7x1, 1, p7x1)),
        d1(conv("branch7x7dbl_1", in, c7, k1)),
        d2(conv("branch7x7dbl_2", c7, c7, k7x1, 1, p7x1)),
        d3(conv("branch7x7dbl_3", c7, c7, k1x7, 1, p1x7)),
        d4(conv("branch7x7dbl_4", c7, c7, k7x1, 1, p7x1)),
        d5(conv("branch7x7dbl_5", c7, 192, k1x7, 1, p1x7)),
        pool(conv("branch_pool", in, 192, k1)) {}
  at::Tensor forward(const at::Tensor& x) override {
    return at::cat({b1(x), s3(s2(s1(x))), d5(d4(d3(d2(d1(x))))), pool(tf_avg_pool(x))}, 1);
  }
};

struct InceptionD : BlockBase {  // Mixed_7a: unpatched
  BasicConv2d b3_1, b3_2, s1, s2, s3, s4;
  explicit InceptionD(int64_t in)
      : b3_1(conv("branch3x3_1", in, 192, k1)),
        b3_2(conv("branch3x3_2", 192, 320, k3, 2)),
        s1(conv("branch7x7x3_1", in, 192, k1)),
        s2(conv("branch7x7x3_2", 192, 192, k1x7, 1, p1x7)),
        s3(conv("branch7x7x3_3", 192, 192, k7x1, 1, p7x1)),
        s4(conv("branch7x7x3_4", 192, 192, k3, 2)) {}
  at::Tensor forward(const at::Tensor& x) override {
    return at::cat({b3_2(b3_1(x)), s4(s3(s2(s1(x)))), at::max_pool2d(x, {3, 3}, {2, 2})}, 1);
  }
};

// Mixed_7b (average pool without padding) and Mixed_7c (max pool: the TF graph's quirk).
struct FidInceptionE : BlockBase {
  BasicConv2d b1, b3_1, b3_2a, b3_2b, d1, d2, d3a, d3b, pool;
  bool max_pool;
  FidInceptionE(int64_t in, bool max_pool)
      : b1(conv("branch1x1", in, 320, k1)),
        b3_1(conv("branch3x3_1", in, 384, k1)),
        b3_2a(conv("branch3x3_2a", 384, 384, k1x3, 1, p1x3)),
        b3_2b(conv("branch3x3_2b", 384, 384, k3x1, 1, p3x1)),
        d1(conv("branch3x3dbl_1", in, 448, k1)),
        d2(conv("branch3x3dbl_2", 448, 384, k3, 1, p1)),
        d3a(conv("branch3x3dbl_3a", 384, 384, k1x3, 1, p1x3)),
        d3b(conv("branch3x3dbl_3b", 384, 384, k3x1, 1, p3x1)),
        pool(conv("branch_pool", in, 192, k1)),
        max_pool(max_pool) {}
  at::Tensor forward(const at::Tensor& x) override {
    const at::Tensor t = b3_1(x), u = d2(d1(x));
    const at::Tensor pooled = max_pool ? at::max_pool2d(x, {3, 3}, {1, 1}, {1, 1}) : tf_avg_pool(x);
    return at::cat({b1(x), b3_2a(t), b3_2b(t), d3a(u), d3b(u), pool(pooled)}, 1);
  }
};

}  // namespace

InceptionV3Impl::InceptionV3Impl() {
  stem_ = {register_module("Conv2d_1a_3x3", BasicConv2d(3, 32, k3, 2)),
           register_module("Conv2d_2a_3x3", BasicConv2d(32, 32, k3)),
           register_module("Conv2d_2b_3x3", BasicConv2d(32, 64, k3, 1, p1)),
           register_module("Conv2d_3b_1x1", BasicConv2d(64, 80, k1)),
           register_module("Conv2d_4a_3x3", BasicConv2d(80, 192, k3))};
  auto add = [&](const char* name, std::shared_ptr<Block> b) { mixed_.push_back(register_module(name, std::move(b))); };
  add("Mixed_5b", std::make_shared<FidInceptionA>(192, 32));
  add("Mixed_5c", std::make_shared<FidInceptionA>(256, 64));
  add("Mixed_5d", std::make_shared<FidInceptionA>(288, 64));
  add("Mixed_6a", std::make_shared<InceptionB>(288));
  add("Mixed_6b", std::make_shared<FidInceptionC>(768, 128));
  add("Mixed_6c", std::make_shared<FidInceptionC>(768, 160));
  add("Mixed_6d", std::make_shared<FidInceptionC>(768, 160));
  add("Mixed_6e", std::make_shared<FidInceptionC>(768, 192));
  add("Mixed_7a", std::make_shared<InceptionD>(768));
  add("Mixed_7b", std::make_shared<FidInceptionE>(1280, false));
  add("Mixed_7c", std::make_shared<FidInceptionE>(2048, true));
  eval();
}

at::Tensor InceptionV3Impl::forward(const at::Tensor& images) {
  at::Tensor x = at::upsample_bilinear2d(images, {299, 299}, /*align_corners=*/false);
  // Channels-last runs oneDNN's convolutions about 1.5x faster on CPU; the result is layout independent.
  x = (2 * x - 1).contiguous(at::MemoryFormat::ChannelsLast);
  x = stem_[2](stem_[1](stem_[0](x)));
  x = at::max_pool2d(x, {3, 3}, {2, 2});
  x = stem_[4](stem_[3](x));
  x = at::max_pool2d(x, {3, 3}, {2, 2});
  for (const auto& b : mixed_) x = b->forward(x);
  return x.mean({2, 3});  // adaptive average pool to 1×1 = pool3
}

void InceptionV3Impl::load_weights(const std::string& path) {
  weights::LoadOptions options;
  options.key_map = [](const std::string& key) -> std::optional<std::string> {
    std::string k = key.rfind("module.", 0) == 0 ? key.substr(7) : key;
    // The classifier head, the auxiliary classifier and BatchNorm step counters play no part in pool3.
    if (k.rfind("fc.", 0) == 0 || k.rfind("AuxLogits.", 0) == 0) return std::nullopt;
    if (k.size() >= 20 && k.compare(k.size() - 20, 20, ".num_batches_tracked") == 0) return std::nullopt;
    return k;
  };
  weights::load_file(*this, path, options);
}

InceptionFeatureExtractor::InceptionFeatureExtractor(const std::string& weights_path, c10::Device device,
                                                     int64_t batch_size)
    : device_(device), batch_size_(batch_size) {
  net_->load_weights(weights_path);
  net_->to(device);
}

at::Tensor InceptionFeatureExtractor::features(const at::Tensor& images) {
  return batched_features(images, batch_size_, device_, [&](const at::Tensor& x) { return net_->forward(x); });
}

}  // namespace loom::eval
