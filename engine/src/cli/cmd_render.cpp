// `citytwin render`: one frame of a scenario or a run file, offscreen, to a PNG.
//
// OpenSceneGraph is used only by the viewer (DESIGN.md), so this command does not render
// itself: it executes `citytwin-view SOURCE --render OUT ...`, found next to this executable
// (build/<preset>/viewer/ or the same folder once installed) or on PATH. Debian's OSG is
// GLX-only: without a display run it under xvfb-run -a -s "-screen 0 1280x720x24".
#include <fmt/format.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hpp"

namespace citytwin::cli {
namespace {

struct RenderOptions {
  std::string source, at = "0", camera, eye, target, size = "1280x720", out;
  bool plain = false;
};

std::string find_viewer() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const auto& candidate :
         {self.parent_path() / "../viewer/citytwin-view", self.parent_path() / "citytwin-view"})
      if (std::filesystem::exists(candidate, ec))
        return std::filesystem::weakly_canonical(candidate, ec).string();
  }
  return "citytwin-view";  // execvp searches PATH
}

int run_render(const RenderOptions& o) {
  std::vector<std::string> args{find_viewer(), o.source, "--render", o.out,
                                "--at",        o.at,     "--size",   o.size};
  if (!o.camera.empty()) args.insert(args.end(), {"--camera", o.camera});
  if (!o.eye.empty()) args.insert(args.end(), {"--eye", o.eye});
  if (!o.target.empty()) args.insert(args.end(), {"--target", o.target});
  if (o.plain) args.emplace_back("--plain");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::cout.flush();
  execvp(argv[0], argv.data());
  std::cerr << fmt::format(
      "citytwin render: cannot run {} (build the viewer: cmake --build ... --target "
      "citytwin-view)\n",
      args[0]);
  return k_exit_internal;
}

}  // namespace

Runner add_render_command(CLI::App& app) {
  auto o = std::make_shared<RenderOptions>();
  CLI::App* sub =
      app.add_subcommand("render", "render one frame offscreen to a PNG (through citytwin-view)");
  sub->add_option("source", o->source, "SCENARIO.toml or RUN.h5")->required();
  sub->add_option("--at", o->at, "simulated time (90, 90s, 15min, 2h)");
  auto* cam = sub->add_option("--camera", o->camera, "camera preset: overview (default), top");
  auto* eye = sub->add_option("--eye", o->eye, "camera position x,y,z (model CRS, m)");
  auto* target = sub->add_option("--target", o->target, "point looked at x,y,z (model CRS, m)");
  eye->needs(target);
  target->needs(eye);
  cam->excludes(eye);
  sub->add_option("--size", o->size, "image size WxH (default 1280x720)");
  sub->add_option("--out", o->out, "output PNG")->required();
  sub->add_flag(
      "--plain", o->plain,
      "the city only: no legend, no time and figures (drawn by default, as in the viewer)");
  sub->footer(R"(Example (no display needed):
  xvfb-run -a -s "-screen 0 1280x720x24" citytwin render scenarios/monaco.toml --at 0 --out monaco.png)");
  return [o] { return run_render(*o); };
}

}  // namespace citytwin::cli
