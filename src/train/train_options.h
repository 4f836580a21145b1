#pragma once
// The `train:` section: how long, how (accumulation, clipping, mixed precision, EMA), how often
// (logging, evaluation, samples, checkpoints) and what to do when things go wrong.
#include <cstdint>
#include <map>
#include <string>

#include "core/config/config_schema.h"
#include "core/io/checkpoint.h"
#include "data/loader.h"
#include "train/distributed/process_group.h"
#include "train/ema.h"
#include "train/gradient_clipping.h"
#include "train/mixed_precision.h"

namespace loom {

// When a phase runs, set from the config for any recipe's phase by name (train.phases.<name>): staged
// training ("D from step 1000", "unfreeze the mapping later") without recipe code.
struct PhaseWindowOptions {
  int64_t start = 0;
  int64_t stop = -1;  // -1 = to the end

  template <class V>
  void visit(V& v) {
    v("start", start, {.help = "first step the phase runs", .min = 0});
    v("stop", stop, {.help = "step from which it no longer runs (-1 = never stops)", .min = -1});
  }
};

struct TrainOptions {
  int64_t steps = 0;   // optimizer steps; or
  int64_t epochs = 0;  // passes over the training data (converted to steps)
  int64_t seed = 0;
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  int64_t threads = 0;          // intra-op CPU threads (0 = LibTorch's default)
  int64_t accumulate = 1;       // micro-batches per optimizer step
  GradientClipOptions clip_grad;
  AmpOptions amp;
  EmaOptions ema;
  data::LoaderOptions loader;
  int64_t log_every = 10;
  int64_t eval_every = 0;        // 0 = only at the end
  int64_t sample_every = 0;      // 0 = only at the end
  int64_t checkpoint_every = 0;  // 0 = only at the end (and when stopped by a signal)
  CheckpointOptions checkpoint;
  std::string nan_policy = "stop";  // stop | skip
  DistributedOptions distributed;
  double bucket_mb = 25;                             // gradient all-reduce bucket size
  std::map<std::string, PhaseWindowOptions> phases;  // by phase name

  template <class V>
  void visit(V& v) {
    v("steps", steps, {.help = "optimizer steps (or give epochs)", .min = 0});
    v("epochs", epochs, {.help = "passes over the training data (or give steps)", .min = 0});
    v("seed", seed, {.help = "seed of weights, data order, augmentation and sampling", .min = 0});
    v("device", device, {.help = "auto, cpu, cuda or cuda:N"});
    v("threads", threads, {.help = "intra-op CPU threads (0 = default)", .min = 0});
    v("accumulate", accumulate, {.help = "micro-batches per optimizer step", .min = 1});
    v("clip_grad", clip_grad, {.help = "gradient clipping"});
    v("amp", amp, {.help = "mixed precision"});
    v("ema", ema, {.help = "speed of the recipe's moving averages"});
    v("loader", loader, {.help = "training data loader"});
    v("log_every", log_every, {.help = "steps between metric records", .min = 1});
    v("eval_every", eval_every, {.help = "steps between evaluations (0 = at the end)", .min = 0});
    v("sample_every", sample_every, {.help = "steps between sample images (0 = at the end)", .min = 0});
    v("checkpoint_every", checkpoint_every, {.help = "steps between checkpoints (0 = at the end)", .min = 0});
    v("checkpoint", checkpoint, {.help = "checkpoint retention"});
    v("nan_policy", nan_policy,
      {.help = "on a non-finite loss: stop, or skip the step and count it", .choices = {"stop", "skip"}});
    v("distributed", distributed, {.help = "data-parallel process group (used when launched with several ranks)"});
    v("bucket_mb", bucket_mb, {.help = "size of the gradient all-reduce buckets in MB", .min = 0.001});
    v("phases", phases, {.help = "start and stop steps of the recipe's phases, by name"});
  }
};

}  // namespace loom
