// Helpers the HTML-report tests share: stub plotting assets, the embedded charts of a page, and
// rendering a page in headless chromium and reading what it drew.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/fs_util.h"
#include "report/html.h"
#include "report/report_fixtures.h"
#include "test_util.h"

namespace scintigen::report::testing {

// Named but empty bundles: pages build without web/node_modules (the browser tests use the real ones).
inline WebAssets stub_assets() {
  return {{{"vega", "5.0.0", "/* vega */"},
           {"vega-lite", "5.0.0", "/* vega-lite */"},
           {"vega-embed", "6.0.0", "/* embed */"}}};
}

// The JSON of the <script type="application/json"> element holding the charts.
inline nlohmann::json embedded_charts(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"scintigen-charts\">";
  const size_t begin = html.find(open);
  EXPECT_NE(begin, std::string::npos);
  const size_t end = html.find("</script>", begin);
  return nlohmann::json::parse(html.substr(begin + open.size(), end - begin - open.size()));
}

inline bool have_chromium() {
  return scintigen::testing::run_command("command -v chromium").exit_code == 0;
}

// The DOM of `html` after its scripts ran (virtual time, so no real waiting for timers).
inline std::string render(const scintigen::testing::TempDir& t, const std::string& html) {
  const std::string log = t / "chromium.log";
  const auto r = scintigen::testing::run_command(
      "{ chromium --headless --no-sandbox --disable-gpu --user-data-dir=" + (t / "profile") +
      " --virtual-time-budget=10000 --dump-dom file://" + html + " 2>" + log + "; }");
  EXPECT_EQ(r.exit_code, 0) << r.output << read_file(log);
  return r.output;
}

// What the page shows after rendering.
struct Rendered {
  bool done = false;    // the embedding script finished
  size_t problems = 0;  // entries in #plot-problems
  std::vector<std::string> charts_with_svg, charts_without_svg;
};

// Each chart's stretch of the DOM (from its id="chart-..." to the next) must hold one SVG with
// drawn marks: vega-embed's <svg class="marks">, a role-mark group, and `drawn` (the markup the
// page's charts must draw, e.g. "mark-line" or "<path").
inline Rendered inspect(const std::string& dom, const std::string& drawn) {
  Rendered r;
  r.done = dom.find("data-plots=\"done\"") != std::string::npos;
  const size_t list = dom.find("id=\"plot-problems\"");
  if (list != std::string::npos) r.problems = count_substrings(dom.substr(list, dom.find("</ul>", list) - list), "<li");
  const std::string mark = "id=\"chart-";
  for (size_t at = dom.find(mark); at != std::string::npos;) {
    const size_t next = dom.find(mark, at + mark.size());
    const std::string part = dom.substr(at, next == std::string::npos ? std::string::npos : next - at);
    const std::string name = part.substr(4, part.find('"', 4) - 4);
    const bool ok = count_substrings(part, "class=\"marks\"") == 1 && part.find("role-mark") != std::string::npos &&
                    part.find(drawn) != std::string::npos;
    (ok ? r.charts_with_svg : r.charts_without_svg).push_back(name);
    at = next;
  }
  return r;
}

}  // namespace scintigen::report::testing
