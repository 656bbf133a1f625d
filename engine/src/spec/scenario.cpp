// ScenarioDocument and SectionReader over toml++: the `extends` chain, located errors, and
// unknown-key detection (every key a reader never asked for is an error, with a suggestion).
#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "citytwin/spec.hpp"

#include <fmt/format.h>

namespace citytwin {

namespace fs = std::filesystem;

struct ScenarioDocument::Impl {
  toml::table root;
  std::unordered_set<const toml::node*> visited;
  // Keys some reader asked for, per table (for "did you mean" and the list of known keys).
  std::unordered_map<const toml::table*, std::set<std::string, std::less<>>> asked;
};

namespace {

const toml::node* as_node(const void* p) {
  return static_cast<const toml::node*>(p);
}
const toml::table* as_table(const void* p) {
  return static_cast<const toml::table*>(p);
}

std::string source_file(const toml::source_region& src) {
  return src.path ? *src.path : std::string();
}

// A path as the file that wrote it meant it: a relative path starts at that file's folder (a
// base's keys at the base's, a variant's at the variant's). It is tidied ("a/b/../c" -> "a/c")
// only when the file system agrees: after a folder that is a symbolic link, ".." leaves the
// link's target, and the tidied path would point elsewhere (with a relative scenario path, into
// the working directory). The path is then resolved on disk instead.
fs::path resolve_from(const std::string& writer, const fs::path& p) {
  if (p.is_absolute()) return p;
  const fs::path joined = fs::path(writer).parent_path() / p;
  const fs::path tidy = joined.lexically_normal();
  if (std::find(joined.begin(), joined.end(), fs::path("..")) == joined.end()) return tidy;
  std::error_code ec_joined, ec_tidy;
  const fs::path real = fs::weakly_canonical(joined, ec_joined);
  if (ec_joined || real == fs::weakly_canonical(tidy, ec_tidy)) return tidy;
  return real;
}

Diagnostic located(const toml::source_region& src, std::string field, std::string message,
                   std::string found = {}, std::string expected = {}) {
  Diagnostic d =
      Diagnostic::at(source_file(src), static_cast<int>(src.begin.line), std::move(field),
                     std::move(message), std::move(found), std::move(expected));
  d.column = static_cast<int>(src.begin.column);
  return d;
}

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "nothing";
  }
}

std::string show(const toml::node& n) {
  if (const auto* s = n.as_string()) return "\"" + s->get() + "\"";
  std::ostringstream os;
  n.visit([&](auto&& v) { os << v; });
  std::string text = os.str();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// Tables merge key by key (the variant's value wins); everything else is replaced. The
// variant's nodes are moved, not copied: toml++ keeps a node's source (file, line) only when it
// is moved, and errors in a variant must name the variant's lines.
void merge_into(toml::table& base, toml::table&& over) {
  for (auto&& [key, value] : over) {
    if (auto* sub = value.as_table()) {
      if (auto* target = base.get_as<toml::table>(key.str())) {
        merge_into(*target, std::move(*sub));
        continue;
      }
    }
    base.insert_or_assign(key, std::move(value));
  }
}

Result<toml::table> parse_text(std::string_view text, const std::string& path) {
  try {
    return toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return fail(located(e.source(), "", "TOML syntax error: " + std::string(e.description())));
  }
}

Result<toml::table> load_chain(const std::string& path, std::vector<std::string>& chain,
                               const toml::source_region* from) {
  const std::string canonical = fs::weakly_canonical(path).string();
  if (std::find(chain.begin(), chain.end(), canonical) != chain.end()) {
    return fail(located(*from, "extends", "extends cycle: " + path + " is already being loaded",
                        path, "a chain of files without cycles"));
  }
  // Only a regular file of reasonable size is read: a directory, a FIFO or /dev/zero would be
  // read forever (or fail obscurely).
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  constexpr std::uintmax_t k_max_bytes = 16u << 20;
  if (!ec && fs::exists(st) && !fs::is_regular_file(st)) {
    const std::string what = fs::is_directory(st) ? "a directory" : "not a regular file";
    if (from) return fail(located(*from, "extends", what, path, "a scenario file (.toml)"));
    return fail(Diagnostic::at(path, 0, "", what, "", "a scenario file (.toml)"));
  }
  if (!ec && fs::exists(st) && fs::file_size(path, ec) > k_max_bytes && !ec)
    return fail(Diagnostic::at(path, 0, "", "too large for a scenario file",
                               std::to_string(fs::file_size(path, ec)) + " bytes",
                               "at most 16 MiB (bulk data goes in the files it names)"));
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (from)
      return fail(located(*from, "extends", "file not found", path, "an existing scenario file"));
    return fail(Error::msg("cannot open scenario file", path));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  auto parsed = parse_text(buf.str(), path);
  if (!parsed) return parsed;
  chain.push_back(canonical);
  toml::table table = std::move(*parsed);
  if (const toml::node* ext = table.get("extends")) {
    if (!ext->is_string())
      return fail(located(ext->source(), "extends", "wrong type", type_name(*ext),
                          "a path to the base scenario file (a string)"));
    const fs::path base_path = resolve_from(path, ext->as_string()->get());
    auto base = load_chain(base_path.string(), chain, &ext->source());
    if (!base) return base;
    table.erase("extends");
    merge_into(*base, std::move(table));
    table = std::move(*base);
  }
  return table;
}

}  // namespace

ScenarioDocument::ScenarioDocument(std::unique_ptr<Impl> impl, std::string path)
    : m_impl(std::move(impl)), m_path(std::move(path)) {}
ScenarioDocument::~ScenarioDocument() = default;

Result<std::unique_ptr<ScenarioDocument>> ScenarioDocument::load(const std::string& path) {
  std::vector<std::string> chain;
  auto table = load_chain(path, chain, nullptr);
  if (!table) return fail(table.error());
  auto impl = std::make_unique<Impl>();
  impl->root = std::move(*table);
  return std::unique_ptr<ScenarioDocument>(new ScenarioDocument(std::move(impl), path));
}

Result<std::unique_ptr<ScenarioDocument>> ScenarioDocument::parse(std::string_view text,
                                                                  const std::string& path) {
  auto table = parse_text(text, path);
  if (!table) return fail(table.error());
  if (table->contains("extends"))
    return fail(located(table->get("extends")->source(), "extends",
                        "extends is only supported for scenario files on disk"));
  auto impl = std::make_unique<Impl>();
  impl->root = std::move(*table);
  return std::unique_ptr<ScenarioDocument>(new ScenarioDocument(std::move(impl), path));
}

SectionReader ScenarioDocument::root() {
  return SectionReader(this, &m_impl->root, "");
}

std::string ScenarioDocument::resolved_text() const {
  std::ostringstream os;
  os << toml::toml_formatter(m_impl->root);
  return os.str();
}

namespace {
void find_unknown(const toml::table& table, const std::string& prefix,
                  const ScenarioDocument::Impl& impl, std::vector<Diagnostic>& out) {
  const auto asked_it = impl.asked.find(&table);
  for (auto&& [key, value] : table) {
    const std::string field =
        prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (!impl.visited.contains(&value)) {
      std::string expected;
      if (asked_it != impl.asked.end() && !asked_it->second.empty()) {
        std::string best;
        std::size_t best_d = 3;
        for (const std::string& k : asked_it->second) {
          const std::size_t d = edit_distance(k, key.str());
          if (d < best_d) best_d = d, best = k;
        }
        if (!best.empty()) {
          expected = "\"" + best + "\" (did you mean it?)";
        } else {
          expected = "one of:";
          for (const std::string& k : asked_it->second) expected += " " + k;
        }
      }
      out.push_back(located(key.source(), field, "unknown key",
                            "\"" + std::string(key.str()) + "\"", expected));
      continue;
    }
    if (const auto* sub = value.as_table()) find_unknown(*sub, field, impl, out);
    if (const auto* arr = value.as_array()) {
      for (std::size_t i = 0; i < arr->size(); ++i)
        if (const auto* t = (*arr)[i].as_table())
          find_unknown(*t, field + "[" + std::to_string(i + 1) + "]", impl, out);
    }
  }
}
}  // namespace

Error ScenarioDocument::finish() {
  std::vector<Diagnostic> unknown;
  find_unknown(m_impl->root, "", *m_impl, unknown);
  for (Diagnostic& d : unknown) m_errors.items.push_back(std::move(d));
  // Report in file order.
  std::stable_sort(m_errors.items.begin(), m_errors.items.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.file, a.line, a.column) < std::tie(b.file, b.line, b.column);
                   });
  // A file of garbage must not print millions of lines: the first ones, and how many more.
  constexpr std::size_t k_max_reported = 100;
  if (m_errors.items.size() > k_max_reported) {
    const std::size_t more = m_errors.items.size() - k_max_reported;
    m_errors.items.resize(k_max_reported);
    m_errors.items.push_back(
        Diagnostic::at(m_path, 0, "", std::to_string(more) + " more problems not shown"));
  }
  return m_errors;
}

// ---- SectionReader ----

const void* SectionReader::node(std::string_view key) const {
  if (!m_table) return nullptr;
  const auto* t = as_table(m_table);
  m_doc->m_impl->asked[t].emplace(key);
  const toml::node* n = t->get(key);
  if (n) m_doc->m_impl->visited.insert(n);
  return n;
}

bool SectionReader::has(std::string_view key) const {
  return m_table && as_table(m_table)->contains(key);
}

bool SectionReader::inherited(std::string_view key) const {
  const toml::node* n = m_table ? as_table(m_table)->get(key) : nullptr;
  return n && n->source().path && *n->source().path != m_doc->path();
}

namespace {
std::string fmt_range(double lo, double hi) {
  if (lo <= -1e300) return fmt::format("a value <= {}", hi);
  if (hi >= 1e300) return fmt::format("a value >= {}", lo);
  return fmt::format("a value in [{}, {}]", lo, hi);
}

std::string dotted(const std::string& table, std::string_view key) {
  return table.empty() ? std::string(key) : table + "." + std::string(key);
}
}  // namespace

void SectionReader::report(Diagnostic d) {
  m_doc->add(std::move(d));
}

void SectionReader::error(std::string_view key, std::string message, std::string found,
                          std::string expected) {
  const toml::node* n = key.empty() ? as_node(m_table) : as_node(node(key));
  if (!n) n = as_node(m_table);  // an absent key: the table that lacks it
  Diagnostic d;
  if (n) {
    d = located(n->source(), dotted(m_name, key), std::move(message), std::move(found),
                std::move(expected));
  } else {
    d = Diagnostic::at(m_doc->path(), 0, dotted(m_name, key), std::move(message), std::move(found),
                       std::move(expected));
  }
  m_doc->add(std::move(d));
}

std::string SectionReader::where(std::string_view key) const {
  const toml::node* n = key.empty() ? as_node(m_table) : as_node(node(key));
  if (!n) n = as_node(m_table);
  if (!n) return m_doc->path();
  return source_file(n->source()) + ":" + std::to_string(n->source().begin.line);
}

std::string SectionReader::text_as(std::string_view array) const {
  toml::table doc;
  if (const toml::table* t = as_table(m_table)) doc.insert(array, toml::array{*t});
  std::ostringstream os;
  os << toml::toml_formatter(doc);
  return os.str();
}

std::optional<std::string> SectionReader::string(std::string_view key) {
  const toml::node* n = as_node(node(key));
  if (!n) return std::nullopt;
  if (!n->is_string()) {
    error(key, "wrong type", type_name(*n), "a string");
    return std::nullopt;
  }
  return n->as_string()->get();
}

std::string SectionReader::string_or(std::string_view key, std::string_view def) {
  return string(key).value_or(std::string(def));
}

std::string SectionReader::choice_or(std::string_view key,
                                     std::initializer_list<std::string_view> allowed,
                                     std::string_view def) {
  auto s = string(key);
  if (!s) return std::string(def);
  for (std::string_view a : allowed)
    if (*s == a) return *s;
  std::string list;
  for (std::string_view a : allowed) list += (list.empty() ? "\"" : ", \"") + std::string(a) + "\"";
  error(key, "not a valid choice", "\"" + *s + "\"", "one of " + list);
  return std::string(def);
}

std::optional<double> SectionReader::number(std::string_view key) {
  const toml::node* n = as_node(node(key));
  if (!n) return std::nullopt;
  if (!n->is_number()) {
    error(key, "wrong type", type_name(*n) + (n->is_string() ? " " + show(*n) : ""), "a number");
    return std::nullopt;
  }
  return n->value<double>();
}

double SectionReader::number_or(std::string_view key, double def, double lo, double hi) {
  auto v = number(key);
  if (!v) return def;
  if (*v < lo || *v > hi) {
    error(key, "out of range", show(*as_node(node(key))), fmt_range(lo, hi));
    return def;
  }
  return *v;
}

std::int64_t SectionReader::integer_or(std::string_view key, std::int64_t def, std::int64_t lo,
                                       std::int64_t hi) {
  const toml::node* n = as_node(node(key));
  if (!n) return def;
  if (!n->is_integer()) {
    error(key, "wrong type", type_name(*n), "an integer");
    return def;
  }
  const std::int64_t v = n->as_integer()->get();
  if (v < lo || v > hi) {
    error(key, "out of range", show(*n), fmt::format("an integer in [{}, {}]", lo, hi));
    return def;
  }
  return v;
}

bool SectionReader::boolean_or(std::string_view key, bool def) {
  const toml::node* n = as_node(node(key));
  if (!n) return def;
  if (!n->is_boolean()) {
    error(key, "wrong type", type_name(*n), "true or false");
    return def;
  }
  return n->as_boolean()->get();
}

std::optional<double> SectionReader::quantity(std::string_view key, Quantity kind, double lo) {
  const toml::node* n = as_node(node(key));
  if (!n) return std::nullopt;
  const std::string example = kind == Quantity::length      ? "\"5m\""
                              : kind == Quantity::speed     ? "\"50km/h\""
                              : kind == Quantity::intensity ? "\"80mm/h\""
                              : kind == Quantity::discharge ? "\"100m3/s\""
                              : kind == Quantity::power     ? "\"1.5MW\""
                              : kind == Quantity::reactive  ? "\"0.3MVAr\""
                              : kind == Quantity::voltage   ? "\"20kV\""
                                                            : "\"2ha\"";
  if (!n->is_string()) {
    error(key, "a quantity needs a unit", show(*n), "a string with a unit, e.g. " + example);
    return std::nullopt;
  }
  auto v = parse_quantity(n->as_string()->get(), kind);
  if (!v) {
    error(key, "bad quantity", show(*n), v.error());
    return std::nullopt;
  }
  if (*v < lo) {
    error(key, "out of range", show(*n), fmt::format("a value >= {} (SI units)", lo));
    return std::nullopt;
  }
  return *v;
}

double SectionReader::quantity_or(std::string_view key, Quantity kind, double def_si, double lo) {
  return quantity(key, kind, lo).value_or(def_si);
}

std::optional<SimTime> SectionReader::duration(std::string_view key) {
  const toml::node* n = as_node(node(key));
  if (!n) return std::nullopt;
  if (!n->is_string()) {
    error(key, "a duration needs a unit", show(*n), "a string such as \"90s\" or \"2h\"");
    return std::nullopt;
  }
  auto v = parse_duration(n->as_string()->get());
  if (!v) {
    error(key, "bad duration", show(*n), v.error());
    return std::nullopt;
  }
  return *v;
}

SimTime SectionReader::duration_or(std::string_view key, SimTime def) {
  return duration(key).value_or(def);
}

std::optional<std::int64_t> SectionReader::datetime(std::string_view key, int* utc_offset_s) {
  const toml::node* n = as_node(node(key));
  if (!n) return std::nullopt;
  std::string text;
  if (n->is_string()) {
    text = n->as_string()->get();
  } else if (n->is_date_time()) {
    std::ostringstream os;
    os << *n->as_date_time();
    text = os.str();
  } else {
    error(key, "wrong type", type_name(*n), "an RFC 3339 date-time such as 2026-06-01T08:00:00Z");
    return std::nullopt;
  }
  auto v = parse_rfc3339(text, utc_offset_s);
  if (!v) {
    error(key, "bad date-time", "\"" + text + "\"", v.error());
    return std::nullopt;
  }
  return *v;
}

std::optional<std::string> SectionReader::path(std::string_view key) {
  const toml::node* n = as_node(node(key));
  if (!n) return std::nullopt;
  if (!n->is_string()) {
    error(key, "wrong type", type_name(*n), "a file path (a string)");
    return std::nullopt;
  }
  // Relative to the folder of the file that wrote this value (which may be a base file).
  return resolve_from(source_file(n->source()), n->as_string()->get()).string();
}

std::optional<std::string> SectionReader::existing_file(std::string_view key) {
  auto p = path(key);
  if (!p) return std::nullopt;
  std::error_code ec;
  if (!fs::is_regular_file(*p, ec)) {
    error(key, "file not found", *p,
          "an existing file (a relative path starts at the folder of the file that wrote it)");
    return std::nullopt;
  }
  return p;
}

std::optional<std::vector<std::string>> SectionReader::strings(std::string_view key) {
  const toml::node* n = as_node(node(key));
  if (!n) return std::nullopt;
  if (n->is_string()) return std::vector<std::string>{n->as_string()->get()};
  const auto* arr = n->as_array();
  std::vector<std::string> out;
  for (std::size_t i = 0; arr && i < arr->size(); ++i) {
    if (!(*arr)[i].is_string()) {
      arr = nullptr;
      break;
    }
    out.push_back((*arr)[i].as_string()->get());
  }
  if (!arr) {
    error(key, "wrong type", type_name(*n), "a string or an array of strings");
    return std::nullopt;
  }
  return out;
}

std::optional<std::vector<std::string>> SectionReader::existing_files(std::string_view key) {
  const toml::node* n = as_node(node(key));
  if (!n) return std::nullopt;
  if (n->is_string()) {
    auto p = existing_file(key);
    if (!p) return std::nullopt;
    return std::vector<std::string>{*p};
  }
  const auto* arr = n->as_array();
  if (!arr) {
    error(key, "wrong type", type_name(*n), "a file path or an array of file paths");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const toml::node& e : *arr) {
    if (!e.is_string()) {
      error(key, "wrong type", type_name(e), "an array of file paths (strings)");
      return std::nullopt;
    }
    const fs::path full = resolve_from(source_file(e.source()), e.as_string()->get());
    std::error_code ec;
    if (!fs::is_regular_file(full, ec)) {
      error(key, "file not found", full.string(),
            "existing files (a relative path starts at the folder of the file that wrote it)");
      return std::nullopt;
    }
    out.push_back(full.string());
  }
  return out;
}

std::optional<std::vector<double>> SectionReader::numbers(std::string_view key, int n_expected) {
  const toml::node* n = as_node(node(key));
  if (!n) return std::nullopt;
  const std::string expected =
      n_expected < 0 ? "an array of numbers" : fmt::format("an array of {} numbers", n_expected);
  const auto* arr = n->as_array();
  if (!arr || (n_expected >= 0 && arr->size() != static_cast<std::size_t>(n_expected))) {
    error(key, "wrong shape",
          arr ? fmt::format("an array of {} elements", arr->size()) : type_name(*n), expected);
    return std::nullopt;
  }
  std::vector<double> out;
  for (const toml::node& e : *arr) {
    if (!e.is_number()) {
      error(key, "wrong element type", type_name(e), expected);
      return std::nullopt;
    }
    out.push_back(*e.value<double>());
  }
  return out;
}

namespace {
std::optional<Point2> as_point(const toml::node& n) {
  const auto* a = n.as_array();
  if (!a || a->size() != 2 || !(*a)[0].is_number() || !(*a)[1].is_number()) return std::nullopt;
  return Point2{*(*a)[0].value<double>(), *(*a)[1].value<double>()};
}
}  // namespace

std::optional<Point2> SectionReader::point(std::string_view key) {
  const toml::node* n = as_node(node(key));
  if (!n) return std::nullopt;
  auto p = as_point(*n);
  if (!p) error(key, "not a point", show(*n), "[x, y] (two numbers, model coordinates)");
  return p;
}

std::optional<std::vector<Point2>> SectionReader::points(std::string_view key) {
  const toml::node* n = as_node(node(key));
  if (!n) return std::nullopt;
  if (auto p = as_point(*n)) return std::vector<Point2>{*p};
  std::vector<Point2> out;
  if (const auto* a = n->as_array(); a && !a->empty()) {
    for (const toml::node& e : *a) {
      auto p = as_point(e);
      if (!p) break;
      out.push_back(*p);
    }
    if (out.size() == a->size()) return out;
  }
  error(key, "not a point or a line", show(*n), "[x, y] or [[x1, y1], [x2, y2], ...]");
  return std::nullopt;
}

SectionReader SectionReader::table(std::string_view key) {
  const toml::node* n = as_node(node(key));
  const std::string name = dotted(m_name, key);
  if (!n) return SectionReader(m_doc, nullptr, name);
  if (!n->is_table()) {
    error(key, "wrong type", type_name(*n), "a table ([" + name + "])");
    return SectionReader(m_doc, nullptr, name);
  }
  return SectionReader(m_doc, n->as_table(), name);
}

std::vector<SectionReader> SectionReader::tables(std::string_view key) {
  const toml::node* n = as_node(node(key));
  std::vector<SectionReader> out;
  if (!n) return out;
  const std::string name = dotted(m_name, key);
  const auto* arr = n->as_array();
  if (!arr || !arr->is_array_of_tables()) {
    error(key, "wrong type", type_name(*n), "an array of tables ([[" + name + "]] blocks)");
    return out;
  }
  for (std::size_t i = 0; i < arr->size(); ++i)
    out.push_back(
        SectionReader(m_doc, (*arr)[i].as_table(), name + "[" + std::to_string(i + 1) + "]"));
  return out;
}

std::vector<std::string> SectionReader::keys() const {
  std::vector<std::string> out;
  if (!m_table) return out;
  for (auto&& [k, v] : *as_table(m_table)) out.emplace_back(k.str());
  return out;
}

}  // namespace citytwin
