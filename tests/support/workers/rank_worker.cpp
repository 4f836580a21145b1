// One rank of the multi-process tests in tests/train/distributed (launched twice by the test, or by torchrun).
// Each scenario checks its own results (a rank can recompute the single-process reference from the
// shared seed) and exits non-zero with a message when something is wrong.
//   dist_rank_worker collectives | reducer <bucket_bytes> <accumulate> | gather | kill | stall
// Environment: torchrun-style variables; LOOM_DIST_TIMEOUT (seconds, default 30).
#include <torch/torch.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "core/text/cat.h"
#include "train/distributed/all_gather.h"
#include "train/distributed/gradient_reducer.h"
#include "train/distributed/process_group.h"

namespace {

using loom::cat;
int64_t g_rank = 0;

void require(bool ok, const std::string& what) {
  if (ok) return;
  std::printf("[rank %lld] FAILED: %s\n", static_cast<long long>(g_rank), what.c_str());
  std::fflush(stdout);
  std::exit(1);
}

void say(const std::string& line) {
  std::printf("[rank %lld] %s\n", static_cast<long long>(g_rank), line.c_str());
  std::fflush(stdout);
}

// Gradients must agree with the single-process reference to 1e-6 relative (in double precision).
void compare_grads(const std::vector<torch::Tensor>& got, const std::vector<torch::Tensor>& want,
                   const std::string& what) {
  for (size_t i = 0; i < got.size(); ++i) {
    const auto& g = got[i].grad();
    const auto& w = want[i].grad();
    require(g.defined() == w.defined(),
            cat(what, ": parameter ", i, " gradient defined ", g.defined(), " vs reference ", w.defined()));
    if (!w.defined()) continue;
    double err = (g - w).norm().item<double>(), scale = w.norm().item<double>();
    require(err <= 1e-6 * scale + 1e-12,
            cat(what, ": parameter ", i, " gradient differs by ", err, " (norm ", scale, ")"));
  }
}

std::vector<torch::Tensor> clone_params(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> out;
  for (const auto& p : params) out.push_back(p.detach().clone().requires_grad_(true));
  return out;
}

void collectives(loom::ProcessGroup& pg) {
  const int64_t r = pg.rank(), w = pg.world_size();
  std::vector<torch::Tensor> t{torch::arange(6, torch::kFloat32).view({2, 3}) + float(r),
                               torch::full({3}, r + 1, torch::kLong)};
  pg.all_reduce_sum(t);
  require(t[0].equal(torch::arange(6, torch::kFloat32).view({2, 3}) * float(w) + float(w * (w - 1) / 2)),
          "all_reduce float");
  require(t[1].equal(torch::full({3}, w * (w + 1) / 2, torch::kLong)), "all_reduce long");
  std::vector<torch::Tensor> big{torch::ones({1 << 20})};
  auto work = pg.all_reduce_sum_async(big);
  work.wait();
  require(big[0].equal(torch::full({1 << 20}, float(w))), "all_reduce_sum_async");
  auto gathered = pg.all_gather(torch::full({2, 2}, float(r)));
  require(gathered.sizes() == torch::IntArrayRef({2 * w, 2}), "all_gather shape");
  for (int64_t k = 0; k < w; ++k)
    require(gathered.narrow(0, 2 * k, 2).eq(float(k)).all().item<bool>(), cat("all_gather rows of rank ", k));
  const int root = static_cast<int>(w - 1);
  std::vector<torch::Tensor> b{r == root ? torch::arange(5, torch::kDouble) : torch::zeros({5}, torch::kDouble),
                               torch::full({2}, r, torch::kInt)};
  pg.broadcast(b, root);
  require(b[0].equal(torch::arange(5, torch::kDouble)) && b[1].equal(torch::full({2}, root, torch::kInt)), "broadcast");
  pg.barrier();
  say("collectives ok");
}

// A small MLP plus `extra`, a parameter only the first phase uses.
std::vector<torch::Tensor> make_mlp(int64_t seed) {
  torch::manual_seed(seed);
  auto opts = torch::TensorOptions().dtype(torch::kDouble);
  std::vector<torch::Tensor> p{torch::randn({16, 8}, opts), torch::randn({16}, opts),    torch::randn({16, 16}, opts),
                               torch::randn({16}, opts),    torch::randn({4, 16}, opts), torch::randn({4}, opts),
                               torch::randn({16}, opts)};
  for (auto& t : p) t.requires_grad_(true);
  return p;
}

torch::Tensor mlp_loss(const std::vector<torch::Tensor>& p, const torch::Tensor& x, const torch::Tensor& y,
                       bool use_extra) {
  auto h = torch::tanh(torch::nn::functional::linear(x, p[0], p[1]));
  if (use_extra) h = h * p[6];
  h = torch::tanh(torch::nn::functional::linear(h, p[2], p[3]));
  return (torch::nn::functional::linear(h, p[4], p[5]) - y).pow(2).mean();
}

void reducer(std::shared_ptr<loom::ProcessGroup> pg, int64_t bucket_bytes, int64_t accumulate) {
  const int64_t r = pg->rank(), w = pg->world_size(), batch = 8 * accumulate * w;
  auto params = make_mlp(100 + r);  // ranks start different: broadcast_parameters must fix that
  loom::broadcast_parameters(*pg, params);
  auto reference = clone_params(params);
  auto ref0 = make_mlp(100);
  for (size_t i = 0; i < params.size(); ++i)
    require(params[i].equal(ref0[i]), cat("broadcast_parameters: parameter ", i));

  loom::GradientReducer reducer(pg, params, bucket_bytes);
  say(cat("buckets ", reducer.bucket_count()));
  torch::manual_seed(7);
  auto x = torch::randn({batch, 8}, torch::kDouble), y = torch::randn({batch, 4}, torch::kDouble);
  for (bool use_extra : {true, false}) {  // the second phase leaves `extra` without a gradient everywhere
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    for (auto& p : reference) p.mutable_grad() = torch::Tensor();
    mlp_loss(reference, x, y, use_extra).backward();
    const int64_t micro = batch / accumulate, local = micro / w;
    for (int64_t m = 0; m < accumulate; ++m) {
      reducer.prepare(m == accumulate - 1);
      auto rows = torch::indexing::Slice(m * micro + r * local, m * micro + (r + 1) * local);
      (mlp_loss(params, x.index({rows}), y.index({rows}), use_extra) / double(accumulate)).backward();
      reducer.finish();
    }
    compare_grads(params, reference, cat("reducer phase use_extra=", use_extra));
  }
  say("reducer ok");
}

// InfoNCE on features gathered from every rank (open_clip's gather_with_grad, full loss on each rank).
torch::Tensor clip_loss(const std::vector<torch::Tensor>& p, const torch::Tensor& images, const torch::Tensor& texts,
                        loom::ProcessGroup* pg) {
  auto fi = torch::nn::functional::normalize(torch::matmul(images, p[0]),
                                             torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto ft = torch::nn::functional::normalize(torch::matmul(texts, p[1]),
                                             torch::nn::functional::NormalizeFuncOptions().dim(1));
  if (pg) {
    fi = loom::all_gather_with_grad(*pg, fi);
    ft = loom::all_gather_with_grad(*pg, ft);
  }
  auto logits = p[2].exp() * torch::matmul(fi, ft.t());
  auto labels = torch::arange(logits.size(0), torch::kLong);
  return (torch::nn::functional::cross_entropy(logits, labels) +
          torch::nn::functional::cross_entropy(logits.t(), labels)) /
         2;
}

void gather(std::shared_ptr<loom::ProcessGroup> pg) {
  const int64_t r = pg->rank(), w = pg->world_size(), local = 4, batch = local * w;
  torch::manual_seed(3);
  auto opts = torch::TensorOptions().dtype(torch::kDouble);
  std::vector<torch::Tensor> params{torch::randn({6, 5}, opts), torch::randn({7, 5}, opts), torch::full({}, 2.0, opts)};
  for (auto& t : params) t.requires_grad_(true);
  auto reference = clone_params(params);
  auto images = torch::randn({batch, 6}, opts), texts = torch::randn({batch, 7}, opts);
  auto ref_loss = clip_loss(reference, images, texts, nullptr);
  ref_loss.backward();

  loom::GradientReducer reducer(pg, params);
  reducer.prepare(true);
  auto rows = torch::indexing::Slice(r * local, (r + 1) * local);
  auto loss = clip_loss(params, images.index({rows}), texts.index({rows}), pg.get());
  require(std::abs(loss.item<double>() - ref_loss.item<double>()) <= 1e-9,
          "gathered loss equals the global-batch loss");
  loss.backward();
  reducer.finish();
  compare_grads(params, reference, "all_gather_with_grad");
  say("gather ok");
}

// Rank 1 dies (kill) or stops answering (stall); the others must fail with DistributedError in time.
void fault(loom::ProcessGroup& pg, bool kill, double timeout) {
  pg.barrier();
  if (pg.rank() == 1) {
    if (kill) ::raise(SIGKILL);
    std::this_thread::sleep_for(std::chrono::duration<double>(timeout * 1.5));
    std::_Exit(0);
  }
  auto start = std::chrono::steady_clock::now();
  try {
    for (int i = 0; i < 1000; ++i) {
      std::vector<torch::Tensor> t{torch::ones({1 << 18})};
      pg.all_reduce_sum(t);
    }
  } catch (const loom::DistributedError& e) {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    say(cat("DistributedError after ", seconds, " s: ", e.what()));
    return;
  }
  require(false, "all_reduce with a dead or hung peer succeeded");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "collectives";
  torch::set_num_threads(1);
  auto env = loom::detect_launch_environment();
  g_rank = env.rank;
  loom::DistributedOptions options;
  options.backend = "gloo";
  if (const char* t = std::getenv("LOOM_DIST_TIMEOUT")) options.timeout_seconds = std::stod(t);
  say(cat("source ", env.source, " world ", env.world_size, " agent_store ", env.agent_store));
  auto pg = loom::ProcessGroup::create(env, options);
  if (mode == "collectives")
    collectives(*pg);
  else if (mode == "reducer")
    reducer(pg, std::stoll(argv[2]), std::stoll(argv[3]));
  else if (mode == "gather")
    gather(pg);
  else if (mode == "kill" || mode == "stall")
    fault(*pg, mode == "kill", options.timeout_seconds);
  else
    require(false, "unknown mode " + mode);
  return 0;
}
