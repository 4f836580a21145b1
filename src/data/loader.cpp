#include "data/loader.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <vector>

#include "core/environment.h"
#include "core/error.h"
#include "core/log.h"
#include "data/collate.h"
#include "data/random.h"
#include "data/sampler.h"

namespace loom::data {

namespace {

// What became of one sample: a sample, a BadSample (path, reason), or any other exception.
struct SampleResult {
  std::optional<Sample> sample;
  std::string bad_path, bad_reason;
  std::exception_ptr error;
};

// A finished batch with what the consumer needs for its accounting.
struct BatchResult {
  Batch batch;
  int64_t attempted = 0;
  std::vector<std::pair<std::string, std::string>> bad;  // (path, reason) in sample order
  std::exception_ptr error;
};

// A batch the workers are filling, one sample task at a time.
struct Pending {
  std::vector<int64_t> indices;
  std::vector<SampleResult> results;
  int64_t remaining = 0;
  std::optional<BatchResult> done;
};

BatchResult assemble(const std::vector<int64_t>& indices, std::vector<SampleResult>& results, bool pin_memory) {
  BatchResult out;
  out.attempted = static_cast<int64_t>(indices.size());
  std::vector<Sample> good;
  std::vector<int64_t> good_indices;
  for (size_t i = 0; i < results.size(); ++i) {
    SampleResult& r = results[i];
    if (r.error && !out.error) out.error = r.error;
    if (r.sample) {
      good.push_back(std::move(*r.sample));
      good_indices.push_back(indices[i]);
    } else if (!r.error) {
      out.bad.emplace_back(r.bad_path, r.bad_reason);
    }
  }
  if (out.error) return out;
  try {
    out.batch = collate(good, std::move(good_indices), pin_memory);
  } catch (...) {
    out.error = std::current_exception();
  }
  return out;
}

constexpr uint64_t kDrawStream = 0x64726177;  // "draw": seeds by position, for samplers that repeat indices

}  // namespace

struct Loader::State {
  std::shared_ptr<const Dataset> dataset;
  LoaderOptions options;
  uint64_t seed;
  Sampler sampler;
  int64_t per_epoch = 0;
  std::atomic<bool> pin_memory{false};

  // Consumer side (next() / seek() only).
  int64_t attempted = 0, bad = 0;
  std::set<std::string> warned;
  std::string example_bad;

  // Shared with the workers, guarded by mutex. Batches are numbered globally: g = epoch * per_epoch + batch.
  std::mutex mutex;
  std::condition_variable work_cv, ready_cv;
  bool stop = false;
  uint64_t generation = 0;                // bumped by seek(): results of older work are dropped
  int64_t next_g = 0;                     // the batch next() returns
  int64_t end_g = 0;                      // one past the last batch to produce
  int64_t assign_g = 0, assign_slot = 0;  // the next sample task
  std::map<int64_t, Pending> pending;
  std::map<int64_t, std::vector<int64_t>> orders;  // epoch -> this rank's indices (current and next epochs)
  std::vector<std::thread> threads;

  State(std::shared_ptr<const Dataset> d, LoaderOptions o, uint64_t s, int64_t rank, int64_t world)
      : dataset(std::move(d)),
        options(o),
        seed(s),
        sampler(dataset->size(), s, o.shuffle, o.drop_last, rank, world, sampling_mode(o.sampler),
                o.batch_size * world) {}

  // Dataset indices of batch g. Caller holds the mutex (or there are no workers).
  std::vector<int64_t> batch_indices(int64_t g) {
    int64_t epoch = g / per_epoch;
    auto it = orders.find(epoch);
    if (it == orders.end()) {
      orders.erase(orders.begin(), orders.lower_bound(next_g / per_epoch));
      it = orders.emplace(epoch, sampler.epoch_indices(epoch)).first;
    }
    const std::vector<int64_t>& order = it->second;
    size_t begin = static_cast<size_t>((g % per_epoch) * options.batch_size);
    size_t end = std::min(order.size(), begin + static_cast<size_t>(options.batch_size));
    return {order.begin() + begin, order.begin() + end};
  }

  // The sample's generator depends only on (seed, epoch, index), never on which thread builds it; where
  // the sampler can repeat an index within an epoch, also on the sample's position in it, so that the
  // copies of one image are augmented differently.
  SampleResult load(int64_t index, int64_t g, int64_t slot) const {
    SampleResult r;
    try {
      const uint64_t epoch = static_cast<uint64_t>(g / per_epoch);
      const uint64_t position =
          static_cast<uint64_t>(sampler.global_position((g % per_epoch) * options.batch_size + slot));
      std::mt19937_64 rng(options.sampler == "permutation"
                              ? mix_seed({seed, epoch, static_cast<uint64_t>(index)})
                              : mix_seed({seed, epoch, static_cast<uint64_t>(index), kDrawStream, position}));
      r.sample = dataset->get(index, rng);
    } catch (const BadSample& e) {
      r.bad_path = e.path;
      r.bad_reason = e.what();
    } catch (...) {
      r.error = std::current_exception();
    }
    return r;
  }

  void worker() {
    std::unique_lock lock(mutex);
    while (true) {
      work_cv.wait(lock, [&] { return stop || (assign_g < end_g && assign_g < next_g + options.prefetch); });
      if (stop) return;
      int64_t g = assign_g, slot = assign_slot;
      auto [it, added] = pending.try_emplace(g);
      Pending& p = it->second;
      if (added) {
        p.indices = batch_indices(g);
        p.results.resize(p.indices.size());
        p.remaining = static_cast<int64_t>(p.indices.size());
      }
      if (++assign_slot == static_cast<int64_t>(p.indices.size())) {
        ++assign_g;
        assign_slot = 0;
      }
      const uint64_t gen = generation;
      const int64_t index = p.indices[slot];
      lock.unlock();
      SampleResult r = load(index, g, slot);
      lock.lock();
      if (gen != generation) continue;
      Pending& q = pending.at(g);
      q.results[slot] = std::move(r);
      if (--q.remaining > 0) continue;
      // The last sample of the batch: collate it here, outside the lock.
      std::vector<SampleResult> results = std::move(q.results);
      std::vector<int64_t> indices = q.indices;
      lock.unlock();
      BatchResult done = assemble(indices, results, pin_memory);
      lock.lock();
      if (gen != generation) continue;
      pending.at(g).done = std::move(done);
      ready_cv.notify_all();
    }
  }

  BatchResult take(int64_t g) {
    if (threads.empty()) {
      std::vector<int64_t> indices = batch_indices(g);
      std::vector<SampleResult> results;
      for (size_t slot = 0; slot < indices.size(); ++slot)
        results.push_back(load(indices[slot], g, static_cast<int64_t>(slot)));
      return assemble(indices, results, pin_memory);
    }
    std::unique_lock lock(mutex);
    ready_cv.wait(lock, [&] {
      auto it = pending.find(g);
      return it != pending.end() && it->second.done;
    });
    auto node = pending.extract(g);
    return std::move(*node.mapped().done);
  }

  void advance() {
    {
      std::lock_guard lock(mutex);
      ++next_g;
    }
    work_cv.notify_all();
  }

  // Counts and reports unreadable samples in delivery order, so logs do not depend on timing.
  void account(const BatchResult& r, bool end_of_pass) {
    attempted += r.attempted;
    bad += static_cast<int64_t>(r.bad.size());
    for (const auto& [path, reason] : r.bad) {
      if (example_bad.empty()) example_bad = cat(path, " (", reason, ")");
      if (warned.insert(path).second) LOOM_WARN("skipping unreadable sample ", path, ": ", reason);
    }
    if ((attempted >= 20 || end_of_pass) && bad > options.max_bad_fraction * static_cast<double>(attempted))
      throw UserError(cat(bad, " of ", attempted, " samples (", 100.0 * bad / attempted,
                          "%) could not be read, more than the limit max_bad_fraction = ", options.max_bad_fraction,
                          " of ", dataset->describe(), "; for example ", example_bad));
  }
};

Loader::Loader(std::shared_ptr<const Dataset> dataset, LoaderOptions options, uint64_t seed, int64_t rank,
               int64_t world_size)
    : state_(std::make_unique<State>(std::move(dataset), options, seed, rank, world_size)) {
  State& s = *state_;
  int64_t per_rank = s.sampler.samples_per_rank();
  s.per_epoch =
      options.drop_last ? per_rank / options.batch_size : (per_rank + options.batch_size - 1) / options.batch_size;
  if (s.per_epoch == 0)
    throw UserError(cat(s.dataset->describe(), ": ", s.dataset->size(), " samples are too few for one batch of ",
                        options.batch_size, " on each of ", world_size, " ranks",
                        options.drop_last ? " (drop_last is on)" : "",
                        "; to train on fewer samples than a batch, draw them with the loader option "
                        "sampler: with_replacement (or repeat), e.g. train.loader.sampler"));
  seek({0, 0});
  // More decoding threads than twice the cores only cost memory (disk waits are the reason for any
  // beyond the cores); far more can fail to start at all.
  const int64_t most = 2 * machine_cores();
  int64_t workers = options.workers;
  if (workers > most) {
    LOOM_WARN("loader: ", workers, " workers asked for, ", most, " used (twice this machine's ", most / 2, " cores)");
    workers = most;
  }
  try {
    for (int64_t i = 0; i < workers; ++i) s.threads.emplace_back([&s] { s.worker(); });
  } catch (const std::system_error& e) {
    stop_workers();
    throw UserError(cat("loader: cannot start decoding thread ", s.threads.size() + 1, " of ", workers, " (", e.what(),
                        "); lower train.loader.workers"));
  }
}

void Loader::stop_workers() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stop = true;
  }
  state_->work_cv.notify_all();
  for (auto& t : state_->threads) t.join();
  state_->threads.clear();
}

Loader::~Loader() { stop_workers(); }

std::optional<Batch> Loader::next() {
  State& s = *state_;
  while (s.next_g < s.end_g) {
    const int64_t g = s.next_g;
    BatchResult r = s.take(g);
    s.advance();
    if (r.error) std::rethrow_exception(r.error);
    s.account(r, (g + 1) % s.per_epoch == 0);
    if (r.batch.size() > 0) return std::move(r.batch);  // a batch of only unreadable samples is skipped
  }
  return std::nullopt;
}

LoaderPosition Loader::position() const {
  std::lock_guard lock(state_->mutex);
  return {state_->next_g / state_->per_epoch, state_->next_g % state_->per_epoch};
}

void Loader::seek(LoaderPosition position) {
  State& s = *state_;
  if (position.epoch < 0 || position.batch < 0 || position.batch > s.per_epoch)
    throw UserError(cat("loader position (epoch ", position.epoch, ", batch ", position.batch,
                        ") is outside the data: an epoch has ", s.per_epoch, " batches"));
  const int64_t g = position.epoch * s.per_epoch + position.batch;
  {
    std::lock_guard lock(s.mutex);
    ++s.generation;
    s.pending.clear();
    s.next_g = s.assign_g = g;
    s.assign_slot = 0;
    // Without repeat, one pass: to the end of the epoch the position is in.
    s.end_g = s.options.repeat ? std::numeric_limits<int64_t>::max() : (g / s.per_epoch + 1) * s.per_epoch;
  }
  s.work_cv.notify_all();
}

void Loader::set_pin_memory(bool on) { state_->pin_memory = on; }
int64_t Loader::batches_per_epoch() const { return state_->per_epoch; }
int64_t Loader::bad_samples() const { return state_->bad; }
const Dataset& Loader::dataset() const { return *state_->dataset; }

}  // namespace loom::data
