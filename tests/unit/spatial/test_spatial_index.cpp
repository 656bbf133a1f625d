// Bullet collision world over the small synthetic city: ray casts, elevations, line of sight,
// picking, all against the closed-form geometry of support/synthetic_city.hpp.
#include <catch2/catch.hpp>

#include <cmath>

#include "citytwin/spatial.hpp"
#include "support/synthetic_city.hpp"

using namespace citytwin;

namespace {
struct World {
  CityModel city = testing::small_city();
  CityMesh mesh = build_city_mesh(city);
  SpatialIndex index{mesh};
};
double roof_z(const CityModel& c, int b) {
  return c.buildings.ground_m[b] + c.buildings.height_m[b];
}
}  // namespace

// Float32 vertices relative to the origin and Bullet's float ray fractions: 1e-3 m covers the
// ~1e-5 relative error of a float fraction over a ~1 km ray.
constexpr double k_tol = 1e-3;

TEST_CASE("A ray from above hits a building at its roof, the terrain elsewhere", "[spatial]") {
  World w;
  auto hit = w.index.ray({110, 110, 500}, {110, 110, -100});
  REQUIRE(hit);
  CHECK(hit->entity == EntityRef{EntityKind::building, 0});
  CHECK(hit->point[2] == Approx(roof_z(w.city, 0)).margin(k_tol));
  CHECK(hit->normal[2] == Approx(1).margin(1e-6));
  // The L block's concave notch (240, 140) is open ground; its arm (210, 150) is roof.
  hit = w.index.ray({240, 140, 500}, {240, 140, -100});
  REQUIRE(hit);
  CHECK(hit->entity.kind == EntityKind::terrain);
  CHECK(hit->point[2] == Approx(testing::plane_z(240, 140)).margin(k_tol));
  // The terrain cell index names the quad of cell centres the point is in: (23, 13).
  CHECK(hit->entity.index == 13 * 40 + 23);
  hit = w.index.ray({210, 150, 500}, {210, 150, -100});
  REQUIRE(hit);
  CHECK(hit->entity == EntityRef{EntityKind::building, 1});
  CHECK(hit->point[2] == Approx(roof_z(w.city, 1)).margin(k_tol));
  // The courtyard of building 2 is open to the sky.
  hit = w.index.ray({120, 220, 500}, {120, 220, -100});
  REQUIRE(hit);
  CHECK(hit->entity.kind == EntityKind::terrain);
  // The road: the two-way link's ribbon lies right of its direction (east), i.e. south of y=300.
  hit = w.index.ray({200, 298, 500}, {200, 298, -100});
  REQUIRE(hit);
  CHECK(hit->entity == EntityRef{EntityKind::road, 0});
  CHECK(hit->point[2] == Approx(testing::plane_z(200, 298) + 0.3).margin(k_tol));
  hit = w.index.ray({200, 302, 500}, {200, 302, -100});
  REQUIRE(hit);
  CHECK(hit->entity.kind == EntityKind::terrain);
}

TEST_CASE("Ground and roof elevation at a point", "[spatial]") {
  World w;
  for (double x : {15.0, 137.5, 333.3})
    for (double y : {15.0, 180.0, 390.0})
      CHECK(w.index.ground_elevation(x, y) == Approx(testing::plane_z(x, y)).margin(k_tol));
  // Ground under a building is still the terrain (the terrain layer alone is cast against).
  CHECK(w.index.ground_elevation(110, 110) == Approx(testing::plane_z(110, 110)).margin(k_tol));
  // Outside the terrain's cell centres there is no ground.
  CHECK(std::isnan(w.index.ground_elevation(-50, 200)));
  auto r = w.index.roof(275, 205);  // the U block's base
  REQUIRE(r);
  CHECK(r->entity == EntityRef{EntityKind::building, 3});
  CHECK(r->point[2] == Approx(roof_z(w.city, 3)).margin(k_tol));
  CHECK_FALSE(w.index.roof(275, 230));  // inside the U's opening
}

TEST_CASE("Line of sight is blocked by a building between two points", "[spatial]") {
  World w;
  const double z = testing::plane_z(110, 110) + 2;
  // Across building 0 at 2 m above ground: blocked by its west wall.
  auto s = w.index.line_of_sight({80, 110, z}, {140, 110, z});
  CHECK_FALSE(s.visible);
  REQUIRE(s.blocker);
  CHECK(s.blocker->entity == EntityRef{EntityKind::building, 0});
  CHECK(s.blocker->point[0] == Approx(100).margin(k_tol));
  // Over the roof (roof + 5 m): visible.
  const double high = roof_z(w.city, 0) + 5;
  CHECK(w.index.line_of_sight({80, 110, high}, {140, 110, high}).visible);
  // Beside it (y = 90): visible at 2 m above the sloping ground (the line climbs with it).
  CHECK(w.index
            .line_of_sight({80, 90, testing::plane_z(80, 90) + 2},
                           {140, 90, testing::plane_z(140, 90) + 2})
            .visible);
  // Through the ground: blocked by terrain unless terrain is ignored.
  const std::array<double, 3> a{50, 50, testing::plane_z(50, 50) - 1},
      b{60, 60, testing::plane_z(60, 60) + 5};
  CHECK_FALSE(w.index.line_of_sight(a, b).visible);
  CHECK(w.index.line_of_sight(a, b, false).visible);
}

TEST_CASE("Picking returns the building the camera ray meets first", "[spatial]") {
  World w;
  // A camera south-west of the city looking north-east through building 0's south wall.
  const std::array<double, 3> eye{110, 50, testing::plane_z(110, 100) + 10};
  auto hit = w.index.pick(eye, {0, 1, 0});
  REQUIRE(hit);
  CHECK(hit->entity == EntityRef{EntityKind::building, 0});
  CHECK(hit->point[1] == Approx(100).margin(k_tol));
  CHECK(hit->normal[1] == Approx(-1).margin(1e-6));
  // Looking down at 45 degrees onto building 3's roof from the south-west.
  const double rz = roof_z(w.city, 3);
  hit = w.index.pick({255 - 40, 205 - 40, rz + 40 * std::sqrt(2.0)}, {1, 1, -std::sqrt(2.0)});
  REQUIRE(hit);
  CHECK(hit->entity == EntityRef{EntityKind::building, 3});
  CHECK(hit->point[0] == Approx(255).margin(1e-2));
  CHECK(hit->point[2] == Approx(rz).margin(1e-2));
  // Up into the sky: nothing.
  CHECK_FALSE(w.index.pick(eye, {0, 0, 1}));
}
