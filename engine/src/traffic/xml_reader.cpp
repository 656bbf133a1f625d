#include "traffic/xml_reader.hpp"

#include <expat.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

namespace citytwin::traffic::xml {

const char* Attrs::find(std::string_view name) const {
  for (const char** a = m_raw; a[0] != nullptr; a += 2)
    if (name == a[0]) return a[1];
  return nullptr;
}

Diagnostic Attrs::error(std::string field, std::string message, std::string found,
                        std::string expected) const {
  return Diagnostic::at(*m_file, m_line, std::move(field), std::move(message), std::move(found),
                        std::move(expected));
}

Result<std::string_view> Attrs::text(std::string_view element, std::string_view name) const {
  const char* v = find(name);
  if (v == nullptr)
    return fail(error(std::string(element) + "." + std::string(name), "missing attribute", {},
                      "attribute '" + std::string(name) + "'"));
  return std::string_view(v);
}

static Result<double> parse_number(const Attrs& at, std::string_view element, std::string_view name,
                                   const char* v) {
  char* end = nullptr;
  const double x = std::strtod(v, &end);
  if (end == v || *end != '\0' || !std::isfinite(x)) {
    std::string found = "'";
    found.append(v).push_back('\'');
    return fail(at.error(std::string(element) + "." + std::string(name), "not a number",
                         std::move(found), "a finite decimal number"));
  }
  return x;
}

Result<double> Attrs::number(std::string_view element, std::string_view name) const {
  const char* v = find(name);
  if (v == nullptr)
    return fail(
        error(std::string(element) + "." + std::string(name), "missing attribute", {}, "a number"));
  return parse_number(*this, element, name, v);
}

Result<double> Attrs::number_or(std::string_view element, std::string_view name,
                                double fallback) const {
  const char* v = find(name);
  if (v == nullptr) return fallback;
  return parse_number(*this, element, name, v);
}

Result<double> Attrs::number_in(std::string_view element, std::string_view name, double fallback,
                                double lo, double hi) const {
  auto x = number_or(element, name, fallback);
  if (x && !(*x >= lo && *x <= hi))
    return fail(error(std::string(element) + "." + std::string(name), "out of range",
                      fmt::format("{}", *x), fmt::format("a number from {} to {}", lo, hi)));
  return x;
}

Result<int> Attrs::whole_or(std::string_view element, std::string_view name, int fallback, int lo,
                            int hi) const {
  if (find(name) == nullptr) return fallback;
  auto x = number(element, name);
  if (!x) return fail(x.error());
  if (!(*x >= lo && *x <= hi && *x == std::floor(*x)))
    return fail(error(std::string(element) + "." + std::string(name), "not a valid index",
                      fmt::format("{}", *x), fmt::format("a whole number from {} to {}", lo, hi)));
  return static_cast<int>(*x);
}

namespace {

struct ParseContext {
  XML_Parser parser = nullptr;
  Handler* handler = nullptr;
  const std::string* file = nullptr;
  int depth = 0;
  std::unique_ptr<Error> error;
};

// After an error the parser is stopped, but expat still reports the end of a self-closing
// element: the first error is the one reported, and no handler runs after it.
void on_start(void* user, const char* name, const char** attrs) {
  auto* ctx = static_cast<ParseContext*>(user);
  ++ctx->depth;
  if (ctx->error) return;
  const Attrs at(attrs, ctx->file, static_cast<int>(XML_GetCurrentLineNumber(ctx->parser)));
  auto r = ctx->handler->start(name, at, ctx->depth);
  if (!r) {
    ctx->error = std::make_unique<Error>(std::move(r.error()));
    XML_StopParser(ctx->parser, XML_FALSE);
  }
}

void on_end(void* user, const char* name) {
  auto* ctx = static_cast<ParseContext*>(user);
  if (ctx->error) {
    --ctx->depth;
    return;
  }
  auto r = ctx->handler->end(name, ctx->depth);
  --ctx->depth;
  if (!r) {
    ctx->error = std::make_unique<Error>(std::move(r.error()));
    XML_StopParser(ctx->parser, XML_FALSE);
  }
}

}  // namespace

Result<void> parse_file(const std::string& path, Handler& handler) {
  gzFile in = gzopen(path.c_str(), "rb");
  if (in == nullptr) return fail(Error::msg("cannot open file", path));
  ParseContext ctx;
  ctx.parser = XML_ParserCreate(nullptr);
  ctx.handler = &handler;
  ctx.file = &path;
  XML_SetUserData(ctx.parser, &ctx);
  XML_SetElementHandler(ctx.parser, on_start, on_end);
  std::vector<char> buf(1 << 16);
  Result<void> result;
  for (;;) {
    const int n = gzread(in, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      result = fail(Error::msg("read error (corrupt gzip stream?)", path));
      break;
    }
    if (XML_Parse(ctx.parser, buf.data(), n, n == 0) == XML_STATUS_ERROR) {
      if (ctx.error) {
        result = fail(std::move(*ctx.error));
      } else {
        Diagnostic d;
        d.file = path;
        d.line = static_cast<int>(XML_GetCurrentLineNumber(ctx.parser));
        d.column = static_cast<int>(XML_GetCurrentColumnNumber(ctx.parser)) + 1;
        d.message = std::string("malformed XML: ") + XML_ErrorString(XML_GetErrorCode(ctx.parser));
        result = fail(std::move(d));
      }
      break;
    }
    if (n == 0) break;
  }
  XML_ParserFree(ctx.parser);
  gzclose(in);
  return result;
}

}  // namespace citytwin::traffic::xml
