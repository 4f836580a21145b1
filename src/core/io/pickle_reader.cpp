#include "core/io/pickle_reader.h"

#include <ATen/ATen.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include "core/limits.h"
#include "core/text/cat.h"

namespace loom::weights::pickle {
namespace {

using Kind = Object::Kind;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

// dtypes that _rebuild_tensor_v3 names (the ones without a typed storage class), by Python name.
std::optional<at::ScalarType> python_dtype(const std::string& global) {
  static const std::map<std::string, at::ScalarType> names{{"torch.float64", at::kDouble},
                                                           {"torch.float32", at::kFloat},
                                                           {"torch.float16", at::kHalf},
                                                           {"torch.bfloat16", at::kBFloat16},
                                                           {"torch.int64", at::kLong},
                                                           {"torch.int32", at::kInt},
                                                           {"torch.int16", at::kShort},
                                                           {"torch.int8", at::kChar},
                                                           {"torch.uint8", at::kByte},
                                                           {"torch.bool", at::kBool},
                                                           {"torch.uint16", at::kUInt16},
                                                           {"torch.uint32", at::kUInt32},
                                                           {"torch.uint64", at::kUInt64},
                                                           {"torch.float8_e4m3fn", at::kFloat8_e4m3fn},
                                                           {"torch.float8_e5m2", at::kFloat8_e5m2},
                                                           {"torch.float8_e4m3fnuz", at::kFloat8_e4m3fnuz},
                                                           {"torch.float8_e5m2fnuz", at::kFloat8_e5m2fnuz},
                                                           {"torch.complex64", at::kComplexFloat},
                                                           {"torch.complex128", at::kComplexDouble}};
  auto it = names.find(global);
  return it == names.end() ? std::nullopt : std::optional(it->second);
}

std::vector<int64_t> int_tuple(const Ref& r, const char* what) {
  if (r->kind != Kind::tuple && r->kind != Kind::list) fail(cat("tensor ", what, " is not a tuple"));
  std::vector<int64_t> out;
  for (const auto& i : r->items) {
    if (i->kind != Kind::integer || i->integer < 0)
      fail(cat("tensor ", what, " holds a non-integer or negative entry"));
    out.push_back(i->integer);
  }
  return out;
}

// Memo lookups and APPEND/SETITEM on memoised containers can make a container hold itself; the
// walk also measures the nesting depth without recursing.
void check_depth_and_cycles(const Ref& root) {
  enum class State { open, done };
  std::unordered_map<const Object*, State> seen;
  std::vector<std::pair<const Object*, std::size_t>> path{{root.get(), 0}};  // object, next child
  seen.emplace(root.get(), State::open);
  auto child = [](const Object& o, std::size_t i) -> const Object* {
    if (i < o.items.size()) return o.items[i].get();
    i -= o.items.size();
    if (i < 2 * o.entries.size()) return (i % 2 ? o.entries[i / 2].second : o.entries[i / 2].first).get();
    return nullptr;
  };
  while (!path.empty()) {
    auto& [object, next] = path.back();
    const Object* c = child(*object, next++);
    if (!c) {
      seen[object] = State::done;
      path.pop_back();
      continue;
    }
    auto [it, fresh] = seen.emplace(c, State::open);
    if (!fresh) {
      if (it->second == State::open) fail("the pickle holds a container that contains itself");
      continue;  // shared, already walked
    }
    if (static_cast<int64_t>(path.size()) >= limits().pickle_depth)
      fail(cat("the pickle nests deeper than ", limits().pickle_depth, " levels; ", raise_limit_hint("PICKLE_DEPTH")));
    path.emplace_back(c, 0);
  }
}

class Unpickler {
 public:
  Unpickler(const char* data, std::size_t size, const RecordLoader& load_record)
      : p_(reinterpret_cast<const unsigned char*>(data)), end_(p_ + size), load_record_(load_record) {}

  // After a failure the objects may form cycles, which reference counting never frees: every object
  // made is held here and its links are cut.
  ~Unpickler() {
    if (!finished_)
      for (const Ref& r : made_) {
        r->items.clear();
        r->entries.clear();
      }
  }

  Ref run() {
    while (true) {
      const unsigned char op = u8();
      if (op == '.') {
        if (stack_.size() != 1 || !marks_.empty()) fail("the pickle ends with a malformed stack");
        check_depth_and_cycles(stack_.back());
        finished_ = true;
        return stack_.back();
      }
      step(op);
    }
  }

 private:
  Ref make(Kind kind) {
    if (static_cast<int64_t>(made_.size()) >= limits().pickle_objects)
      fail(cat("the pickle creates more than ", limits().pickle_objects, " objects; ",
               raise_limit_hint("PICKLE_OBJECTS")));
    auto r = std::make_shared<Object>();
    r->kind = kind;
    made_.push_back(r);
    return r;
  }

  void need(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) fail("the pickle data is truncated");
  }
  template <class T>
  T little() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }
  unsigned char u8() { return little<unsigned char>(); }
  std::string bytes(std::size_t n) {
    need(n);
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }
  std::string line() {
    const unsigned char* nl = static_cast<const unsigned char*>(std::memchr(p_, '\n', end_ - p_));
    if (!nl) fail("the pickle data is truncated");
    std::string s(reinterpret_cast<const char*>(p_), nl - p_);
    p_ = nl + 1;
    return s;
  }

  Ref pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("the pickle stack underflows");
    Ref r = std::move(stack_.back());
    stack_.pop_back();
    return r;
  }
  Ref& top() {
    if (stack_.empty()) fail("the pickle stack underflows");
    return stack_.back();
  }
  std::vector<Ref> pop_mark() {
    if (marks_.empty()) fail("the pickle pops a mark that was never set");
    std::vector<Ref> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  void push(Ref r) { stack_.push_back(std::move(r)); }
  void push_int(int64_t v) {
    auto r = make(Kind::integer);
    r->integer = v;
    push(std::move(r));
  }
  void push_string(std::string s, Kind kind = Kind::string) {
    auto r = make(kind);
    r->text = std::move(s);
    push(std::move(r));
  }
  void push_seq(Kind kind, std::vector<Ref> items) {
    auto r = make(kind);
    r->items = std::move(items);
    push(std::move(r));
  }
  void push_long(std::size_t n) {
    if (n > 8) fail("the pickle holds an integer wider than 64 bits");
    const std::string b = bytes(n);
    uint64_t v = 0;
    for (std::size_t i = n; i-- > 0;) v = (v << 8) | static_cast<unsigned char>(b[i]);
    if (n > 0 && n < 8 && (static_cast<unsigned char>(b[n - 1]) & 0x80)) v |= ~uint64_t(0) << (8 * n);  // sign-extend
    push_int(static_cast<int64_t>(v));
  }
  void memo_get(uint32_t id) {
    auto it = memo_.find(id);
    if (it == memo_.end()) fail(cat("the pickle refers to memo entry ", id, ", which was never stored"));
    push(it->second);
  }
  Ref& container(Kind kind) {
    Ref& r = top();
    if (r->kind != kind) fail(cat("the pickle adds items to a ", kind_name(r->kind), ", not a ", kind_name(kind)));
    return r;
  }

  void step(unsigned char op) {
    switch (op) {
      case 0x80:
        u8();
        break;  // PROTO
      case 0x95:
        little<uint64_t>();
        break;     // FRAME
      case 'c': {  // GLOBAL
        std::string module = line();
        push_string(cat(module, ".", line()), Kind::global);
      } break;
      case 0x93: {  // STACK_GLOBAL
        Ref name = pop(), module = pop();
        if (name->kind != Kind::string || module->kind != Kind::string)
          fail("the pickle names a global with non-strings");
        push_string(cat(module->text, ".", name->text), Kind::global);
      } break;
      case 'q':
        memo_[u8()] = top();
        break;  // BINPUT
      case 'r':
        memo_[little<uint32_t>()] = top();
        break;  // LONG_BINPUT
      case 0x94:
        memo_[static_cast<uint32_t>(memo_.size())] = top();
        break;  // MEMOIZE
      case 'h':
        memo_get(u8());
        break;  // BINGET
      case 'j':
        memo_get(little<uint32_t>());
        break;  // LONG_BINGET
      case '}':
        push(make(Kind::dict));
        break;
      case ']':
        push(make(Kind::list));
        break;
      case ')':
        push(make(Kind::tuple));
        break;
      case '(':
        marks_.push_back(stack_.size());
        break;
      case '0':
        pop();
        break;  // POP
      case 't':
        push_seq(Kind::tuple, pop_mark());
        break;
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        std::vector<Ref> items(op - 0x84);
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        push_seq(Kind::tuple, std::move(items));
      } break;
      case 'J':
        push_int(little<int32_t>());
        break;  // BININT
      case 'K':
        push_int(u8());
        break;  // BININT1
      case 'M':
        push_int(little<uint16_t>());
        break;  // BININT2
      case 0x8a:
        push_long(u8());
        break;  // LONG1
      case 0x8b:
        push_long(little<uint32_t>());
        break;     // LONG4
      case 'G': {  // BINFLOAT, big-endian
        auto r = make(Kind::real);
        r->real = std::bit_cast<double>(__builtin_bswap64(little<uint64_t>()));
        push(std::move(r));
      } break;
      case 'X':
        push_string(bytes(little<uint32_t>()));
        break;  // BINUNICODE
      case 0x8c:
        push_string(bytes(u8()));
        break;  // SHORT_BINUNICODE
      case 'N':
        push(make(Kind::none));
        break;
      case 0x88:
      case 0x89: {  // NEWTRUE, NEWFALSE
        auto r = make(Kind::boolean);
        r->integer = op == 0x88;
        push(std::move(r));
      } break;
      case 'R': {  // REDUCE
        Ref args = pop(), callable = pop();
        if (callable->kind != Kind::global || args->kind != Kind::tuple)
          fail("the pickle calls something that is not a global");
        push(call(callable->text, args->items));
      } break;
      case 'b': {  // BUILD
        pop();     // OrderedDict._metadata or tensor state: nothing weights need
        Kind k = top()->kind;
        if (k != Kind::dict && k != Kind::tensor) fail(cat("the pickle sets the state of a ", kind_name(k)));
      } break;
      case 's': {  // SETITEM
        Ref value = pop(), key = pop();
        container(Kind::dict)->entries.emplace_back(std::move(key), std::move(value));
      } break;
      case 'u': {  // SETITEMS
        std::vector<Ref> items = pop_mark();
        if (items.size() % 2) fail("the pickle sets a dict item without a value");
        Ref& dict = container(Kind::dict);
        for (std::size_t i = 0; i < items.size(); i += 2) dict->entries.emplace_back(items[i], items[i + 1]);
      } break;
      case 'a': {  // APPEND
        Ref value = pop();
        container(Kind::list)->items.push_back(std::move(value));
      } break;
      case 'e': {  // APPENDS
        std::vector<Ref> items = pop_mark();
        Ref& list = container(Kind::list);
        list->items.insert(list->items.end(), items.begin(), items.end());
      } break;
      case 'Q':
        push(storage(pop()));
        break;  // BINPERSID
      default:
        fail(cat("the pickle uses opcode 0x", std::hex, int(op), ", which plain state dicts never contain"));
    }
  }

  // ('storage', torch.<Type>Storage, key, location, numel): one zip record per key, loaded once.
  Ref storage(const Ref& pid) {
    const auto& a = pid->items;
    if (pid->kind != Kind::tuple || a.size() != 5 || a[0]->kind != Kind::string || a[0]->text != "storage" ||
        a[1]->kind != Kind::global || a[2]->kind != Kind::string || a[4]->kind != Kind::integer || a[4]->integer < 0)
      fail("the pickle holds a persistent id that is not a tensor storage");
    const bool untyped = a[1]->text == "torch.UntypedStorage" || a[1]->text == "torch.storage.UntypedStorage";
    auto dtype = untyped ? at::kByte : typed_storage_dtype(a[1]->text);
    if (!dtype) fail(cat("the pickle holds a storage of unsupported type ", a[1]->text));
    const std::string& key = a[2]->text;
    auto cached = storages_.find(key);
    if (cached != storages_.end()) return cached->second;

    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(uint64_t(a[4]->integer), uint64_t(at::elementSize(*dtype)), &nbytes))
      fail(cat("storage ", key, " is absurdly large"));
    at::DataPtr ptr;
    if (nbytes > 0) {
      auto [data, size] = load_record_(key);
      if (size < nbytes) fail(cat("storage record data/", key, " has ", size, " bytes but needs ", nbytes));
      ptr = std::move(data);
    }
    auto r = make(Kind::storage);
    r->storage = at::Storage(at::Storage::use_byte_size_t(), nbytes, std::move(ptr), nullptr, false);
    r->dtype = *dtype;
    storages_.emplace(key, r);
    return r;
  }

  Ref call(const std::string& name, const std::vector<Ref>& args) {
    if (name == "collections.OrderedDict") {
      if (!args.empty()) fail("the pickle builds an OrderedDict from arguments");
      return make(Kind::dict);
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      if (args.empty() || args[0]->kind != Kind::tensor) fail("the pickle builds a parameter without a tensor");
      return args[0];
    }
    const bool v3 = name == "torch._utils._rebuild_tensor_v3";
    if (name != "torch._utils._rebuild_tensor_v2" && !v3)
      fail(cat("the pickle holds an object of type ", name, ", which a weights file may not contain"));
    if (args.size() < (v3 ? 7u : 4u) || args[0]->kind != Kind::storage || args[1]->kind != Kind::integer)
      fail(cat("the pickle calls ", name, " with malformed arguments"));
    const Object& storage = *args[0];
    at::ScalarType dtype = storage.dtype;
    if (v3) {
      auto d = args[6]->kind == Kind::global ? python_dtype(args[6]->text) : std::nullopt;
      if (!d) fail(cat("the pickle holds a tensor of unsupported dtype ", args[6]->text));
      dtype = *d;
    }
    const int64_t offset = args[1]->integer;
    const std::vector<int64_t> sizes = int_tuple(args[2], "size"), strides = int_tuple(args[3], "stride");
    if (sizes.size() != strides.size() || offset < 0) fail("the pickle holds a tensor with inconsistent geometry");
    // The last element addressed must lie inside the storage (LibTorch would only assert).
    bool empty = false;
    uint64_t last = uint64_t(offset);
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      empty |= sizes[i] == 0;
      uint64_t span = 0;
      if (sizes[i] > 0 && (__builtin_mul_overflow(uint64_t(sizes[i] - 1), uint64_t(strides[i]), &span) ||
                           __builtin_add_overflow(last, span, &last)))
        fail("the pickle holds a tensor with absurd sizes");
    }
    const uint64_t item = at::elementSize(dtype);
    if (!empty && (last >= storage.storage.nbytes() / item))
      fail(cat("the pickle holds a tensor that reaches past the end of its storage (", storage.storage.nbytes(),
               " bytes)"));
    auto r = make(Kind::tensor);
    r->tensor = at::empty({0}, at::TensorOptions().dtype(dtype)).set_(storage.storage, offset, sizes, strides);
    return r;
  }

  const unsigned char* p_;
  const unsigned char* end_;
  const RecordLoader& load_record_;
  std::vector<Ref> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<uint32_t, Ref> memo_;
  std::unordered_map<std::string, Ref> storages_;
  std::vector<Ref> made_;
  bool finished_ = false;
};

}  // namespace

Object::~Object() {
  std::vector<Ref> pending;
  auto adopt = [&pending](Object& o) {
    for (Ref& r : o.items) pending.push_back(std::move(r));
    for (auto& [key, value] : o.entries) {
      pending.push_back(std::move(key));
      pending.push_back(std::move(value));
    }
    o.items.clear();
    o.entries.clear();
  };
  adopt(*this);
  while (!pending.empty()) {
    Ref r = std::move(pending.back());
    pending.pop_back();
    if (r && r.use_count() == 1) adopt(*r);  // last owner: its children are released here, not inside it
  }
}

// Python's typed storage classes are named after c10's scalar type names.
std::optional<at::ScalarType> typed_storage_dtype(const std::string& global) {
  for (at::ScalarType t : {at::kDouble, at::kFloat, at::kHalf, at::kBFloat16, at::kLong, at::kInt, at::kShort,
                           at::kChar, at::kByte, at::kBool, at::kComplexFloat, at::kComplexDouble})
    if (global == cat("torch.", c10::toString(t), "Storage")) return t;
  return std::nullopt;
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::none:
      return "None";
    case Kind::boolean:
      return "bool";
    case Kind::integer:
      return "int";
    case Kind::real:
      return "float";
    case Kind::string:
      return "str";
    case Kind::tuple:
      return "tuple";
    case Kind::list:
      return "list";
    case Kind::dict:
      return "dict";
    case Kind::tensor:
      return "tensor";
    case Kind::global:
      return "global";
    case Kind::storage:
      return "storage";
  }
  return "?";
}

Ref unpickle(const char* data, std::size_t size, const RecordLoader& load_record) {
  return Unpickler(data, size, load_record).run();
}

}  // namespace loom::weights::pickle
