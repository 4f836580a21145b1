// loom::weights file formats against Python torch / safetensors (tests/python/weight_files.py), round
// trips, and corrupt files.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>

#include "core/error.h"
#include "core/io/safetensors.h"
#include "core/io/weights.h"
#include "support/test_env.h"

namespace {

namespace fs = std::filesystem;
using loom::weights::NamedTensors;

// The same formulas as expected() in tests/python/weight_files.py.
NamedTensors expected() {
  at::Tensor base = torch::arange(12, torch::kFloat32).reshape({3, 4}) / 4;
  at::Tensor grid = torch::arange(20, torch::kFloat64).reshape({4, 5});
  return {
      {"f32", torch::arange(24, torch::kFloat32).reshape({2, 3, 4}) * 0.5 - 3},
      {"f16", (torch::arange(12, torch::kFloat32).reshape({3, 4}) * 0.25 - 1).to(torch::kFloat16)},
      {"bf16", (torch::arange(12, torch::kFloat32).reshape({4, 3}) * 0.125 + 2).to(torch::kBFloat16)},
      {"i64", torch::arange(10, torch::kInt64) * 1000003 - 7},
      {"scalar", torch::scalar_tensor(2.5, torch::kFloat32)},
      {"base", base},
      {"transposed", base.t()},
      {"strided", grid.slice(1, 0, 5, 2)},
      {"flags", torch::arange(6) % 2 == 0},
  };
}

const loom::weights::Metadata kMetadata{{"format", "pt"}, {"written_by", "loom-test"}};

void require_equal(const at::Tensor& got, const at::Tensor& want, const std::string& name) {
  INFO(name);
  REQUIRE(got.scalar_type() == want.scalar_type());
  REQUIRE(got.sizes() == want.sizes());
  REQUIRE(torch::equal(got, want));
}

const at::Tensor& find(const NamedTensors& tensors, const std::string& name) {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  FAIL("no tensor named " << name);
  static const at::Tensor none;
  return none;
}

// Requires a UserError whose message names the file (and `also`, if given).
void require_user_error(const std::function<void()>& f, const fs::path& file, const std::string& also = "") {
  REQUIRE_THROWS_AS(f(), loom::UserError);
  try {
    f();
  } catch (const loom::UserError& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK(message.find(file.string()) != std::string::npos);
    CHECK(message.find(also) != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
  }
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// A safetensors file with a hand-written header and `data_bytes` zero bytes of data.
fs::path raw_safetensors(const fs::path& dir, const std::string& name, const std::string& header,
                         std::size_t data_bytes, std::uint64_t header_len_field = 0) {
  const std::uint64_t len = header_len_field ? header_len_field : header.size();
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  bytes += header + std::string(data_bytes, '\0');
  fs::path path = dir / name;
  write_bytes(path, bytes);
  return path;
}

}  // namespace

TEST_CASE("weights: reads torch.save and safetensors files written by Python", "[io][weights]") {
  const fs::path dir = loom::test::scratch("weights_python_made");
  REQUIRE(loom::test::run_python("weight_files.py", "make " + dir.string()) == 0);

  NamedTensors want = expected();
  want.emplace_back("param", torch::arange(4, torch::kFloat32) - 1.5);
  want.emplace_back("u16", torch::tensor({0, 1000, 65535}, torch::kInt32).to(torch::kUInt16));
  want.emplace_back("nested.inner.w", torch::arange(6, torch::kInt32).reshape({2, 3}) * 7);

  for (const char* file : {"py.pt", "py_protocol4.pt"}) {
    INFO(file);
    NamedTensors got = loom::weights::read((dir / file).string());
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      REQUIRE(got[i].first == want[i].first);
      // uint16 has few CPU kernels; compare it widened.
      if (want[i].first == "u16") {
        REQUIRE(got[i].second.scalar_type() == torch::kUInt16);
        require_equal(got[i].second.to(torch::kInt32), want[i].second.to(torch::kInt32), "u16");
      } else {
        require_equal(got[i].second, want[i].second, want[i].first);
      }
    }
    // Views keep their geometry and share the storage of the tensor they view, as in Python.
    const at::Tensor& transposed = find(got, "transposed");
    CHECK(transposed.strides() == at::IntArrayRef({1, 4}));
    CHECK(transposed.storage().data() == find(got, "base").storage().data());
    CHECK(find(got, "strided").strides() == at::IntArrayRef({5, 2}));
  }

  auto st = loom::weights::read_safetensors((dir / "py.safetensors").string());
  CHECK(st.metadata == kMetadata);
  REQUIRE(st.tensors.size() == expected().size());
  for (const auto& [name, tensor] : expected()) require_equal(find(st.tensors, name), tensor.contiguous(), name);
  CHECK(loom::weights::read((dir / "py.safetensors").string()).size() == expected().size());
}

TEST_CASE("weights: files written by C++ load in Python", "[io][weights]") {
  const fs::path dir = loom::test::scratch("weights_cpp_made");
  loom::weights::write((dir / "cpp.pt").string(), expected());
  loom::weights::write((dir / "cpp.safetensors").string(), expected(), kMetadata);
  REQUIRE(loom::test::run_python("weight_files.py", "check " + dir.string()) == 0);
}

TEST_CASE("weights: round trip in C++", "[io][weights]") {
  const fs::path dir = loom::test::scratch("weights_round_trip");
  NamedTensors tensors = expected();
  tensors.emplace_back("empty", torch::empty({0, 3}));
  tensors.emplace_back("grad", torch::ones({2}).requires_grad_());

  for (const char* file : {"w.pt", "w.pth", "w.bin", "w.safetensors"}) {
    INFO(file);
    const std::string path = (dir / file).string();
    loom::weights::write(path, tensors);
    NamedTensors got = loom::weights::read(path);
    REQUIRE(got.size() == tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      REQUIRE(got[i].first == tensors[i].first);
      require_equal(got[i].second, tensors[i].second.detach(), tensors[i].first);
    }
    // Overwriting goes through a temporary file that never stays behind.
    loom::weights::write(path, tensors);
  }
  for (const auto& entry : fs::directory_iterator(dir)) CHECK(entry.path().string().find(".tmp-") == std::string::npos);

  const std::string st = (dir / "meta.safetensors").string();
  loom::weights::write(st, {{"u16", torch::tensor({1, 65535}, torch::kInt32).to(torch::kUInt16)}}, kMetadata);
  auto back = loom::weights::read_safetensors(st);
  CHECK(back.metadata == kMetadata);
  CHECK(back.tensors.at(0).second.scalar_type() == torch::kUInt16);

  require_user_error(
      [&] {
        loom::weights::write((dir / "x.pt").string(), {{"u16", back.tensors[0].second}});
      },
      dir / "x.pt", "u16");
  require_user_error([&] { loom::weights::write((dir / "x.npz").string(), tensors); }, dir / "x.npz", ".npz");
  require_user_error([&] { loom::weights::write((dir / "x.pt").string(), tensors, kMetadata); }, dir / "x.pt");
  require_user_error(
      [&] {
        loom::weights::write((dir / "x.safetensors").string(), {{"a", tensors[0].second}, {"a", tensors[1].second}});
      },
      dir / "x.safetensors", "'a'");
  CHECK_FALSE(fs::exists(dir / "x.pt"));
}

TEST_CASE("weights: corrupt and foreign files are user errors naming the file", "[io][weights]") {
  const fs::path dir = loom::test::scratch("weights_corrupt");
  REQUIRE(loom::test::run_python("weight_files.py", "make " + dir.string()) == 0);
  auto read = [](const fs::path& p) { return [p] { loom::weights::read(p.string()); }; };

  SECTION("missing, empty and random files") {
    require_user_error(read(dir / "nope.pt"), dir / "nope.pt");
    write_bytes(dir / "empty.pt", "");
    require_user_error(read(dir / "empty.pt"), dir / "empty.pt");
    std::mt19937 rng(7);
    std::string noise(4096, '\0');
    for (char& c : noise) c = static_cast<char>(rng());
    write_bytes(dir / "noise.bin", noise);
    require_user_error(read(dir / "noise.bin"), dir / "noise.bin");
    write_bytes(dir / "noise_zip.pt", std::string("PK\x03\x04", 4) + noise);
    require_user_error(read(dir / "noise_zip.pt"), dir / "noise_zip.pt");
  }

  SECTION("truncated files") {
    const std::string pt = read_bytes(dir / "py.pt");
    for (std::size_t keep : {pt.size() / 2, pt.size() - 10, std::size_t(100)}) {
      write_bytes(dir / "cut.pt", pt.substr(0, keep));
      require_user_error(read(dir / "cut.pt"), dir / "cut.pt");
    }
    const std::string st = read_bytes(dir / "py.safetensors");
    write_bytes(dir / "cut.safetensors", st.substr(0, st.size() - 5));
    require_user_error(read(dir / "cut.safetensors"), dir / "cut.safetensors", "truncated");
    write_bytes(dir / "cut_header.safetensors", st.substr(0, 40));
    require_user_error(read(dir / "cut_header.safetensors"), dir / "cut_header.safetensors", "larger than the file");
  }

  SECTION("zips and pickles that are not state dicts") {
    require_user_error(read(dir / "other.zip"), dir / "other.zip");
    require_user_error(read(dir / "list.pt"), dir / "list.pt", "list");
    require_user_error(read(dir / "with_int.pt"), dir / "with_int.pt", "'step'");
    require_user_error(read(dir / "with_object.pt"), dir / "with_object.pt", "collections.Counter");
  }

  SECTION("bad safetensors headers") {
    const std::string ok = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
    require_user_error(read(raw_safetensors(dir, "json.safetensors", "{not json", 8)), dir / "json.safetensors",
                       "JSON");
    require_user_error(
        read(raw_safetensors(dir, "dtype.safetensors", R"({"a":{"dtype":"F13","shape":[2],"data_offsets":[0,8]}})", 8)),
        dir / "dtype.safetensors", "'a'");
    require_user_error(
        read(raw_safetensors(dir, "overlap.safetensors",
                             "{" + ok + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)),
        dir / "overlap.safetensors", "overlapping");
    require_user_error(
        read(raw_safetensors(dir, "range.safetensors",
                             "{" + ok + R"(,"b":{"dtype":"I64","shape":[2],"data_offsets":[8,24]}})", 16)),
        dir / "range.safetensors", "'b'");
    require_user_error(
        read(raw_safetensors(dir, "size.safetensors", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)),
        dir / "size.safetensors", "'a'");
    require_user_error(read(raw_safetensors(dir, "len.safetensors", "{" + ok + "}", 8, 1u << 20)),
                       dir / "len.safetensors", "larger than the file");
    require_user_error(read(raw_safetensors(dir, "meta.safetensors", R"({"__metadata__":{"n":1}})", 0)),
                       dir / "meta.safetensors", "__metadata__");
    CHECK(loom::weights::read(raw_safetensors(dir, "fine.safetensors", "{" + ok + "}  ", 8).string()).size() == 1);
  }
}
