// MATPOWER case reader (format version 2, MATPOWER manual appendix B "Data File Format").
//
// A case file is an Octave function assigning fields of `mpc`. We read the subset that
// defines a power-flow problem: mpc.version (must be '2'), mpc.baseMVA, mpc.bus, mpc.gen and
// mpc.branch. Other fields (gencost, bus_name, gentype, ...) are skipped and reported, so a
// user knows what was not used. Anything else that is not a comment is an error: silently
// skipping Octave code would hide a case the reader cannot represent.
#include "citytwin/power.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <charconv>
#include <cmath>
#include <numbers>
#include <string_view>
#include <unordered_map>

namespace citytwin::power {
namespace {

struct Matrix {
  std::vector<std::vector<double>> rows;
  std::vector<int> row_line;  // 1-based line of each row
  int line = 0;               // line of the assignment
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Drops a trailing % comment; a % inside a quoted string is kept.
std::string_view strip_comment(std::string_view s) {
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\'') quoted = !quoted;
    if (s[i] == '%' && !quoted) return s.substr(0, i);
  }
  return s;
}

Diagnostic diag(const std::string& path, int line, std::string field, std::string message,
                std::string found, std::string expected) {
  return Diagnostic::at(path, line, std::move(field), std::move(message), std::move(found),
                        std::move(expected));
}

// Parses the numbers of one matrix row ("1 3 0 0;" already split at ';').
Result<std::vector<double>> parse_row(std::string_view row, const std::string& path, int line,
                                      const std::string& field) {
  std::vector<double> out;
  std::size_t i = 0;
  while (i < row.size()) {
    while (i < row.size() && (row[i] == ' ' || row[i] == '\t' || row[i] == ',' || row[i] == '\r'))
      ++i;
    if (i >= row.size()) break;
    std::size_t j = i;
    while (j < row.size() && row[j] != ' ' && row[j] != '\t' && row[j] != ',' && row[j] != '\r')
      ++j;
    std::string_view tok = row.substr(i, j - i);
    std::string_view num = tok.starts_with('+') ? tok.substr(1) : tok;
    double v = 0;
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
    if (ec != std::errc() || ptr != num.data() + num.size())
      return fail(diag(path, line, field, "not a number in a matrix row", std::string(tok),
                       "a decimal number, Inf or -Inf"));
    out.push_back(v);
    i = j;
  }
  return out;
}

Result<std::string> read_text(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files too (zlib passes them through)
  if (!f)
    return fail(diag(path, 0, "", "cannot open the case file", "", "a readable .m or .m.gz file"));
  std::string text;
  char buf[1 << 16];
  int n = 0;
  while ((n = gzread(f, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  const bool bad = n < 0;
  gzclose(f);
  if (bad)
    return fail(diag(path, 0, "", "cannot decompress the case file", "", "a valid gzip stream"));
  return text;
}

// Checks that every row has at least `min_cols` columns.
Result<void> check_cols(const Matrix& m, std::size_t min_cols, const std::string& path,
                        const std::string& field, const char* columns) {
  for (std::size_t r = 0; r < m.rows.size(); ++r)
    if (m.rows[r].size() < min_cols)
      return fail(diag(path, m.row_line[r], field, "too few columns",
                       fmt::format("{} columns", m.rows[r].size()),
                       fmt::format("at least {} columns: {}", min_cols, columns)));
  return {};
}

constexpr double k_deg = std::numbers::pi / 180.0;

// A bus number as MATPOWER writes it: a positive integer, here also one a double holds exactly
// (so that it converts to int64 without overflow: 1e30 or Inf is a corrupt file).
bool is_bus_number(double id) {
  return id >= 1 && id <= 9007199254740992.0 && id == std::floor(id);
}

}  // namespace

Result<Network> parse_matpower(const std::string& text, const std::string& path,
                               std::vector<std::string>* ignored) {
  std::unordered_map<std::string, Matrix> mats;
  double base_mva = 0;
  int base_line = 0;
  std::string version;
  int version_line = 0;

  // Line scanner: outside, inside a numeric matrix [ ... ], or inside a skipped cell { ... }.
  enum class Mode { outside, matrix, skip };
  Mode mode = Mode::outside;
  Matrix* cur = nullptr;
  std::string cur_field;
  char skip_close = ']';
  int line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string_view line = trim(strip_comment(std::string_view(text).substr(pos, eol - pos)));
    pos = eol + 1;
    ++line_no;
    if (line.empty()) continue;

    if (mode == Mode::skip) {
      if (line.find(skip_close) != std::string_view::npos) mode = Mode::outside;
      continue;
    }
    std::string_view body = line;
    if (mode == Mode::outside) {
      if (line.starts_with("function") || line == "end" || line == "return") continue;
      const std::size_t eq = line.find('=');
      if (!line.starts_with("mpc.") || eq == std::string_view::npos)
        return fail(diag(path, line_no, "", "unexpected statement in a MATPOWER case",
                         std::string(line), "mpc.<field> = ... assignments and comments"));
      const std::string field(trim(line.substr(4, eq - 4)));
      std::string_view rhs = trim(line.substr(eq + 1));
      if (field == "baseMVA") {
        std::string_view v = trim(rhs.substr(0, rhs.find(';')));
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), base_mva);
        if (ec != std::errc() || p != v.data() + v.size() || !(base_mva > 0))
          return fail(diag(path, line_no, "mpc.baseMVA", "invalid system MVA base", std::string(v),
                           "a positive number"));
        base_line = line_no;
        continue;
      }
      if (field == "version") {
        version = std::string(trim(rhs.substr(0, rhs.find(';'))));
        version_line = line_no;
        continue;
      }
      const bool wanted = field == "bus" || field == "gen" || field == "branch";
      if (!rhs.empty() && (rhs.front() == '[' || rhs.front() == '{')) {
        const char close = rhs.front() == '[' ? ']' : '}';
        if (!wanted) {
          if (ignored) ignored->push_back("mpc." + field);
          if (rhs.find(close) == std::string_view::npos) {
            mode = Mode::skip;
            skip_close = close;
          }
          continue;
        }
        if (close == '}')
          return fail(diag(path, line_no, "mpc." + field, "expected a numeric matrix",
                           std::string(rhs), "mpc." + field + " = [ ... ];"));
        cur_field = field;
        cur = &mats[field];
        cur->line = line_no;
        mode = Mode::matrix;
        body = rhs.substr(1);
      } else {
        if (wanted)
          return fail(diag(path, line_no, "mpc." + field, "expected a numeric matrix",
                           std::string(rhs), "mpc." + field + " = [ ... ];"));
        if (ignored) ignored->push_back("mpc." + field);
        continue;
      }
    }
    // Matrix rows: separated by ';' or by line ends; ']' closes the matrix.
    const std::size_t close = body.find(']');
    std::string_view rows = close == std::string_view::npos ? body : body.substr(0, close);
    std::size_t s = 0;
    while (s <= rows.size()) {
      std::size_t e = rows.find(';', s);
      if (e == std::string_view::npos) e = rows.size();
      std::string_view r = trim(rows.substr(s, e - s));
      if (!r.empty()) {
        auto vals = parse_row(r, path, line_no, "mpc." + cur_field);
        if (!vals) return fail(vals.error());
        cur->rows.push_back(std::move(*vals));
        cur->row_line.push_back(line_no);
      }
      s = e + 1;
    }
    if (close != std::string_view::npos) mode = Mode::outside;
  }
  if (mode == Mode::matrix)
    return fail(
        diag(path, cur->line, "mpc." + cur_field, "matrix is not closed", "end of file", "]"));

  // Required fields.
  if (version.empty())
    return fail(
        diag(path, 0, "mpc.version", "missing case format version", "", "mpc.version = '2';"));
  if (version != "'2'")
    return fail(
        diag(path, version_line, "mpc.version", "unsupported case format version", version, "'2'"));
  if (base_line == 0)
    return fail(diag(path, 0, "mpc.baseMVA", "missing system MVA base", "", "mpc.baseMVA = 100;"));
  for (const char* f : {"bus", "gen", "branch"})
    if (!mats.contains(f) || mats[f].rows.empty())
      return fail(diag(path, 0, std::string("mpc.") + f, "missing or empty matrix", "",
                       std::string("mpc.") + f + " = [ ... ];"));
  const Matrix& mb = mats["bus"];
  const Matrix& mg = mats["gen"];
  const Matrix& ml = mats["branch"];
  if (auto r = check_cols(mb, 13, path, "mpc.bus",
                          "bus_i type Pd Qd Gs Bs area Vm Va baseKV zone Vmax Vmin");
      !r)
    return fail(r.error());
  if (auto r = check_cols(mg, 10, path, "mpc.gen", "bus Pg Qg Qmax Qmin Vg mBase status Pmax Pmin");
      !r)
    return fail(r.error());
  if (auto r = check_cols(ml, 11, path, "mpc.branch",
                          "fbus tbus r x b rateA rateB rateC ratio angle status");
      !r)
    return fail(r.error());

  Network net;
  {
    std::string stem = path.substr(path.find_last_of('/') + 1);
    for (const char* ext : {".gz", ".m"})
      if (stem.ends_with(ext)) stem.resize(stem.size() - std::string_view(ext).size());
    net.name = stem;
  }
  net.base_mva = base_mva;
  const double base = base_mva;

  // Buses.
  std::unordered_map<std::int64_t, std::int32_t> index;
  const std::size_t nb = mb.rows.size();
  index.reserve(nb);
  for (std::size_t i = 0; i < nb; ++i) {
    const auto& r = mb.rows[i];
    const double id = r[0];
    if (!is_bus_number(id))
      return fail(diag(path, mb.row_line[i], "mpc.bus.bus_i", "invalid bus number",
                       fmt::format("{}", id), "a positive integer up to 2^53"));
    if (!index.emplace(static_cast<std::int64_t>(id), static_cast<std::int32_t>(i)).second)
      return fail(diag(path, mb.row_line[i], "mpc.bus.bus_i", "duplicate bus number",
                       fmt::format("{}", id), "unique bus numbers"));
    const double t = r[1];
    if (t != 1 && t != 2 && t != 3 && t != 4)
      return fail(diag(path, mb.row_line[i], "mpc.bus.type", "invalid bus type",
                       fmt::format("{}", t), "1 (PQ), 2 (PV), 3 (reference) or 4 (isolated)"));
    if (!(r[7] > 0) && t != 4)
      return fail(diag(path, mb.row_line[i], "mpc.bus.Vm", "non-positive voltage magnitude",
                       fmt::format("{}", r[7]), "Vm > 0 pu"));
    net.bus_id.push_back(static_cast<std::int64_t>(id));
    net.bus_type.push_back(static_cast<BusType>(static_cast<int>(t)));
    net.bus_pd.push_back(r[2] / base);
    net.bus_qd.push_back(r[3] / base);
    net.bus_gs.push_back(r[4] / base);
    net.bus_bs.push_back(r[5] / base);
    net.bus_vm.push_back(r[7]);
    net.bus_va.push_back(r[8] * k_deg);
    net.bus_base_kv.push_back(r[9]);
    net.bus_vmax.push_back(r[11]);
    net.bus_vmin.push_back(r[12]);
    net.bus_x.push_back(std::nan(""));
    net.bus_y.push_back(std::nan(""));
  }
  auto bus_index = [&](double id, int line, const char* field) -> Result<std::int32_t> {
    const auto it = is_bus_number(id) ? index.find(static_cast<std::int64_t>(id)) : index.end();
    if (it == index.end())
      return fail(diag(path, line, field, "refers to a bus that is not in mpc.bus",
                       fmt::format("{}", id), "a bus number listed in mpc.bus"));
    return it->second;
  };

  // Generators.
  for (std::size_t g = 0; g < mg.rows.size(); ++g) {
    const auto& r = mg.rows[g];
    auto b = bus_index(r[0], mg.row_line[g], "mpc.gen.bus");
    if (!b) return fail(b.error());
    if (!(r[5] > 0))
      return fail(diag(path, mg.row_line[g], "mpc.gen.Vg", "non-positive voltage set-point",
                       fmt::format("{}", r[5]), "Vg > 0 pu"));
    net.gen_bus.push_back(*b);
    net.gen_on.push_back(r[7] > 0 ? 1 : 0);
    net.gen_pg.push_back(r[1] / base);
    net.gen_qg.push_back(r[2] / base);
    net.gen_qmax.push_back(r[3] / base);
    net.gen_qmin.push_back(r[4] / base);
    net.gen_vg.push_back(r[5]);
    net.gen_pmax.push_back(r[8] / base);
    net.gen_pmin.push_back(r[9] / base);
  }

  // Branches.
  for (std::size_t k = 0; k < ml.rows.size(); ++k) {
    const auto& r = ml.rows[k];
    auto f = bus_index(r[0], ml.row_line[k], "mpc.branch.fbus");
    if (!f) return fail(f.error());
    auto t = bus_index(r[1], ml.row_line[k], "mpc.branch.tbus");
    if (!t) return fail(t.error());
    if (r[2] == 0 && r[3] == 0)
      return fail(diag(path, ml.row_line[k], "mpc.branch.x", "zero series impedance",
                       "r = 0 and x = 0", "r or x non-zero (merge the buses instead)"));
    net.br_from.push_back(*f);
    net.br_to.push_back(*t);
    net.br_on.push_back(r[10] > 0 ? 1 : 0);
    net.br_r.push_back(r[2]);
    net.br_x.push_back(r[3]);
    net.br_b.push_back(r[4]);
    net.br_rate_a.push_back(r[5] / base);
    net.br_tap.push_back(r[8] == 0 ? 1.0 : r[8]);
    net.br_shift.push_back(r[9] * k_deg);
  }
  return net;
}

Result<Network> read_matpower(const std::string& path, std::vector<std::string>* ignored) {
  auto text = read_text(path);
  if (!text) return fail(text.error());
  return parse_matpower(*text, path, ignored);
}

}  // namespace citytwin::power
