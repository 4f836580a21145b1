// torch.save files whose pickle is hostile or broken in ways a weights file never is: deep nesting,
// cycles, dicts shared between keys. Each must be a UserError naming the file, fast, with no crash
// (the nested tuples once overflowed the stack as they were destroyed).
#include <caffe2/serialize/inline_container.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "core/error.h"
#include "core/io/weights.h"
#include "support/test_env.h"

using namespace loom;
using namespace std::string_literals;  // the pickles hold NUL bytes

namespace {

// A torch.save zip whose data.pkl is `pickle` (no storages).
std::string torch_save_with(const std::string& name, const std::string& pickle) {
  const auto path = (test::scratch(cat("pickle_limits/", name)) / (name + ".pt")).string();
  caffe2::serialize::PyTorchStreamWriter writer(path);
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  writer.writeRecord("byteorder", "little", 6);
  writer.writeEndOfFile();
  return path;
}

const std::string kProto = "\x80\x02";

std::string short_string(const std::string& s) { return cat("\x8c", static_cast<char>(s.size()), s); }

}  // namespace

TEST_CASE("pickle: 10^5 nested tuples are refused at the depth limit without a crash", "[io][pickle][bad input]") {
  // None, then TUPLE1 100000 times: (((None,),),...)
  const std::string path = torch_save_with("nested", kProto + "N" + std::string(100000, '\x85') + ".");
  CHECK_THROWS_WITH(weights::read(path), Catch::Contains(path) && Catch::Contains("nests deeper than 1000 levels") &&
                                             Catch::Contains("LOOM_LIMIT_PICKLE_DEPTH"));
  // A truncated one (no STOP) fails on the truncation, also without a crash.
  CHECK_THROWS_WITH(weights::read(torch_save_with("nested_cut", kProto + "N" + std::string(100000, '\x85'))),
                    Catch::Contains("truncated"));
}

TEST_CASE("pickle: a list that contains itself is refused", "[io][pickle][bad input]") {
  // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND: l = []; l.append(l)
  const std::string path = torch_save_with("cycle", kProto +
                                                        "]q\x00"
                                                        "h\x00"
                                                        "a."s);
  CHECK_THROWS_WITH(weights::read(path), Catch::Contains("contains itself"));
}

TEST_CASE("pickle: dicts shared between keys are refused before 2^31 names are walked", "[io][pickle][bad input]") {
  // d0 = {}; d_i = {'a': d_{i-1}, 'b': d_{i-1}} through the memo, 31 levels.
  // Each level is memoised and popped ('0'), so the stack ends holding d_31 alone.
  std::string p = kProto +
                  "}q\x00"
                  "0"s;
  for (int i = 1; i <= 31; ++i)
    p += cat("}(", short_string("a"), "h", static_cast<char>(i - 1), short_string("b"), "h", static_cast<char>(i - 1),
             "uq", static_cast<char>(i), i < 31 ? "0" : "");
  p += ".";
  CHECK(p.size() < 700);
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(weights::read(torch_save_with("shared", p)),
                    Catch::Contains("one dict appears both as") && Catch::Contains("does not share dicts"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("pickle: a plain nested state dict still loads", "[io][pickle]") {
  // {'a': {}, 'b': {}}: nested dicts without tensors flatten to nothing, which is not an error here.
  const std::string p = kProto + "}(" + short_string("a") + "}" + short_string("b") + "}u.";
  CHECK(weights::read(torch_save_with("plain", p)).empty());
}
