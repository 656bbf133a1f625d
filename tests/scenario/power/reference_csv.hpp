// Reads MATPOWER reference result CSVs (plain or gzip) for the power tests.
#pragma once

#include <zlib.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace citytwin::power::test {

/// A numeric CSV table: header names and rows of doubles ("Inf" parses as infinity).
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<double>> rows;
  int col(const std::string& name) const {
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return static_cast<int>(i);
    return -1;
  }
};

inline Table read_table(const std::string& path) {
  Table t;
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return t;
  std::string text;
  char buf[1 << 16];
  int n = 0;
  while ((n = gzread(f, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  gzclose(f);
  std::istringstream in(text);
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream ls(line);
    std::string cell;
    std::vector<double> row;
    while (std::getline(ls, cell, ',')) {
      if (first)
        t.header.push_back(cell);
      else
        row.push_back(std::strtod(cell.c_str(), nullptr));
    }
    if (!first) t.rows.push_back(std::move(row));
    first = false;
  }
  return t;
}

}  // namespace citytwin::power::test
